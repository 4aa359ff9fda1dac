package daemon

import "github.com/openfc/openfc/internal/instance"

// imageSource gives the instance manager the node's images. This
// stand-in is replaced by the images part (which adds d.images): there it
// returns instance.ImageFunc(d.images.Get). Nil: custom-container
// functions fail to start, "no image store on this node".
func (d *Daemon) imageSource() instance.ImageSource { return nil }
