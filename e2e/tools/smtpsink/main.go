// Command smtpsink runs internal/smtpsink for the browser tests: it prints
// "listening HOST:PORT" on stdout once it accepts mail, and writes each
// message it receives to DIR/N.eml (N = 1, 2, ...), written to a temporary
// name first and renamed, so a reader never sees half a message. It runs
// until interrupted.
//
//	go run ./e2e/tools/smtpsink --addr 127.0.0.1:0 --dir DIR
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"

	"github.com/communitycube/cube/internal/smtpsink"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	dir := flag.String("dir", "", "directory to write received messages to (N.eml)")
	flag.Parse()
	if *dir == "" {
		log.Fatal("smtpsink: --dir is required")
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		log.Fatal(err)
	}
	var mu sync.Mutex
	n := 0
	sink, err := smtpsink.Start(*addr, func(m smtpsink.Message) {
		mu.Lock()
		defer mu.Unlock()
		n++
		name := filepath.Join(*dir, strconv.Itoa(n)+".eml")
		if err := os.WriteFile(name+".tmp", m.Data, 0o644); err != nil {
			log.Printf("smtpsink: %v", err)
			return
		}
		if err := os.Rename(name+".tmp", name); err != nil {
			log.Printf("smtpsink: %v", err)
		}
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening %s\n", sink.Addr())
	os.Stdout.Sync()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
	sink.Close()
}
