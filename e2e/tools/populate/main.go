// Command populate fills a folder with many small files for the browser
// benchmarks (e2e/files.bench.ts): a 10,000-entry folder made through the
// UI or the CLI would take far longer than the listing it is there to time.
// It signs in with shared/drive like the CLI and makes empty files (literal
// versions: no upload), N requests in parallel.
//
//	go run ./e2e/tools/populate --server URL --user NAME --password-file F --folder NAME --count N
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"
	"net/http/cookiejar"
	"os"
	"strings"
	"sync"

	"github.com/communitycube/cube/shared/api"
	"github.com/communitycube/cube/shared/drive"
)

func main() {
	server := flag.String("server", "", "node URL")
	user := flag.String("user", "", "user name")
	pwFile := flag.String("password-file", "", "file holding the password")
	folder := flag.String("folder", "many", "folder to make in the root")
	count := flag.Int("count", 10000, "files to make")
	workers := flag.Int("workers", 8, "requests in flight")
	flag.Parse()
	pw, err := os.ReadFile(*pwFile)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	jar, _ := cookiejar.New(nil)
	c := &api.Client{Base: strings.TrimRight(*server, "/"), Transport: api.HTTPTransport{Client: &http.Client{Jar: jar}}}
	password := strings.TrimSuffix(string(pw), "\n")
	if _, err := c.Login(ctx, *user, password); err != nil {
		log.Fatal(err)
	}
	d, _, err := drive.Unlock(ctx, c, password)
	if err != nil {
		log.Fatal(err)
	}
	dir, err := d.Mkdir(ctx, d.RootID(), *folder, drive.CreateOptions{})
	if err != nil {
		log.Fatal(err)
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				p, err := d.NewPut(bytes.NewReader(nil), 0, drive.PutOptions{ParentID: dir.ID, Name: fmt.Sprintf("file-%05d.txt", i), NoScrub: true})
				if err == nil {
					_, err = p.Run(ctx)
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("file %d: %w", i, err)
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < *count; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		log.Fatal(firstErr)
	}
	fmt.Println(dir.ID)
}
