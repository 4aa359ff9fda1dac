package daemon

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/openfc/openfc/internal/images"
	"github.com/openfc/openfc/internal/instance"
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
		Replicas: d.replicas,
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

// imageSource gives the instance manager the node's images.
func (d *Daemon) imageSource() instance.ImageSource { return instance.ImageFunc(d.images.Get) }

// functionImages maps each image functions use, normalised as the image
// store names it, to those functions. A reference that does not parse is
// left out (the API refuses those).
func (d *Daemon) functionImages(ctx context.Context) (map[string][]string, error) {
	raw, err := d.store.FunctionImages(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]string, len(raw))
	for ref, fns := range raw {
		if n, err := images.Normalize(ref); err == nil {
			out[n] = append(out[n], fns...)
		}
	}
	return out, nil
}

// imagesInUse is the collector's view of the images functions use; on a
// store error it says every stored image, so that nothing goes.
func (d *Daemon) imagesInUse() []string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := d.functionImages(ctx)
	if err != nil {
		d.log.Warn("image collection: cannot read the functions' images; keeping every image", "err", err)
		recs, lerr := d.images.List(ctx)
		if lerr != nil {
			return nil
		}
		all := make([]string, 0, len(recs))
		for _, r := range recs {
			all = append(all, r.Ref)
		}
		return all
	}
	out := make([]string, 0, len(m))
	for ref := range m {
		out = append(out, ref)
	}
	return out
}

// imageUsers names the functions that use ref (normalised), for the API's
// refusal to delete an image in use.
func (d *Daemon) imageUsers(ref string) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := d.functionImages(ctx)
	if err != nil {
		return []string{"(the functions could not be read: " + err.Error() + ")"}
	}
	return m[ref]
}
