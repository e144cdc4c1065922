package app

import (
	"github.com/communitycube/cube/shared/drive"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// STUB: replaced by the downloader.
func startDownload(ctx app.Context, items []drive.Item) {}
