package daemon

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/openfc/openfc/internal/images"
)

// imagesCollectInterval is how often unused images, blobs and layer
// directories are looked for (the store's grace period, 10 minutes,
// applies on top).
const imagesCollectInterval = 5 * time.Minute

// imageGC is the image store's collector loop, which the daemon owns:
// start runs it, stop ends it (before the store closes).
type imageGC struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// openImages opens the image store on JetStream, with this node's layer
// cache under <data>/images.
func (d *Daemon) openImages(ctx context.Context) error {
	st, err := images.New(ctx, images.Options{
		JS:       d.nats.JS,
		CacheDir: filepath.Join(d.opts.DataDir, "images"),
		Logger:   d.log.With("component", "images"),
	})
	if err != nil {
		return fmt.Errorf("opening the image store: %w", err)
	}
	d.images = st
	return nil
}

// startImageGC runs the image collector, the first pass at once (it
// removes what a crash left). inUse names the images functions use; nil
// means unknown, and then no image goes, only blobs no image references
// and layer directories of no stored image.
func (d *Daemon) startImageGC(inUse func() []string) {
	ctx, cancel := context.WithCancel(context.Background())
	d.imageGC = &imageGC{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(d.imageGC.done)
		d.images.Run(ctx, imagesCollectInterval, inUse)
	}()
}

// stop ends the collector loop and waits for it. Safe on a nil imageGC.
func (g *imageGC) stop() {
	if g == nil {
		return
	}
	g.cancel()
	<-g.done
}
