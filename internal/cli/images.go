package cli

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/openfc/openfc/pkg/client"
)

func newImages(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "images", Short: "Import, list and remove the container images custom-container functions run from"}
	cmd.AddCommand(newImagesImport(e), newImagesList(e), newImagesRemove(e))
	return cmd
}

func newImagesImport(e *env) *cobra.Command {
	var ref string
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Upload a docker save tarball, an OCI image archive or an OCI layout directory to the server",
		Long: `Import uploads an image to the server, which stores it once for every node:
a 'docker save' tarball, an OCI image archive, or an OCI layout directory
(sent as an OCI archive); FILE '-' reads a tarball from standard input. The
images are named as the tarball names them (docker save's tags; an OCI
index's io.containerd.image.name annotation), or --ref names the only one.
Progress goes to stderr. Every layer is checked on the server: one with a
path that would escape it is refused, naming the entry.`,
		Example: `  docker save myapp:v1 -o myapp.tar && openfc images import myapp.tar
  openfc images import ./oci-layout --ref registry.example.com/team/app:v2`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			imgs, err := e.importImage(cmd, c, args[0], ref)
			if err != nil {
				return err
			}
			if e.asJSON {
				return e.printJSON(imgs)
			}
			for _, im := range imgs {
				fmt.Fprintf(e.stdout, "imported %s %s (%s)\n", im.Ref, im.Digest, humanBytes(im.Size))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&ref, "ref", "", "the reference to store the image under (name:tag), when the tarball holds one image")
	return cmd
}

// importImage streams FILE (a tarball, '-', or an OCI layout directory
// tarred on the fly) to the server, with progress on stderr.
func (e *env) importImage(cmd *cobra.Command, c *client.Client, file, ref string) ([]client.Image, error) {
	now := time.Now()
	p := &progress{w: e.stderr, name: file, total: -1, start: now, last: now}
	var (
		body io.Reader
		size int64 = -1
		// stopTar ends the tar of a directory and returns its error.
		stopTar = func() error { return nil }
	)
	switch fi, err := os.Stat(file); {
	case file == "-":
		body = &countingReader{r: os.Stdin, p: p}
	case err != nil:
		return nil, err
	case !fi.IsDir():
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		body, size, p.total = &countingReader{r: f, p: p}, fi.Size(), fi.Size()
	default:
		if p.total, err = dirBytes(file); err != nil {
			return nil, err
		}
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() { // ends when the tar is written or the upload stops reading
			err := writeTarDir(pw, file, p)
			pw.CloseWithError(err)
			done <- err
		}()
		stopTar = func() error {
			pr.CloseWithError(errUploadEnded) // unblocks the writer
			return <-done
		}
		body = pr
	}
	imgs, err := c.ImportImage(cmd.Context(), body, size, ref)
	if terr := stopTar(); terr != nil && !errors.Is(terr, errUploadEnded) && err != nil {
		err = fmt.Errorf("reading %s: %w", file, terr) // the upload failed for it
	}
	p.finish(err)
	return imgs, err
}

// errUploadEnded stops the tar of a directory whose upload ended.
var errUploadEnded = errors.New("upload ended")

// dirBytes adds up the sizes of the regular files under dir.
func dirBytes(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		fi, err := d.Info()
		if err == nil {
			n += fi.Size()
		}
		return err
	})
	return n, err
}

// writeTarDir writes the tree under dir as a tar (an OCI layout becomes
// an OCI image archive), counting file bytes on p.
func writeTarDir(w io.Writer, dir string, p *progress) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if fi.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(path); err != nil {
				return err
			}
		}
		h, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, &countingReader{r: f, p: p})
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// progress prints an upload's progress on stderr, at most once a second
// (overwriting the line on a terminal).
type progress struct {
	w           io.Writer
	name        string
	total       int64 // -1: unknown
	done        int64
	start, last time.Time
}

func (p *progress) add(n int) {
	p.done += int64(n)
	if now := time.Now(); now.Sub(p.last) >= time.Second {
		p.last = now
		p.print(false)
	}
}

func (p *progress) print(final bool) {
	line := fmt.Sprintf("uploading %s: %s", p.name, humanBytes(p.done))
	if p.total > 0 {
		line += fmt.Sprintf(" / %s (%d%%)", humanBytes(p.total), p.done*100/p.total)
	}
	switch {
	case !isTerminal(p.w):
		line += "\n"
	case final:
		line = "\r" + line + "\033[K\n"
	default:
		line = "\r" + line + "\033[K" // the next print overwrites it
	}
	fmt.Fprint(p.w, line)
}

// finish prints the last line: what was sent, and that the server stored
// it (the response comes once it has).
func (p *progress) finish(err error) {
	if p.total > 0 && p.done > p.total {
		p.total = p.done
	}
	p.print(true)
	if err == nil {
		fmt.Fprintf(p.w, "uploaded in %s; the server checked and stored the layers\n", time.Since(p.start).Round(time.Millisecond))
	}
}

type countingReader struct {
	r io.Reader
	p *progress
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.p.add(n)
	return n, err
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// humanBytes renders a size as B, KB, MB or GB (powers of 1024).
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, suffix := float64(n), ""
	for _, s := range []string{"KB", "MB", "GB", "TB"} {
		v /= unit
		suffix = s
		if v < unit {
			break
		}
	}
	return fmt.Sprintf("%.1f %s", v, suffix)
}

func newImagesList(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the stored images (--json: a JSON array)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			imgs, err := c.ListImages(cmd.Context())
			if err != nil {
				return err
			}
			if e.asJSON {
				return e.printJSON(imgs)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "REF\tDIGEST\tSIZE\tCREATED\tSOURCE")
			for _, im := range imgs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", im.Ref, shortDigest(im.Digest), humanBytes(im.Size), e.localTime(im.CreatedTime), im.Source)
			}
			return tw.Flush()
		},
	}
}

// shortDigest is the digest's first 12 hex digits, as Docker prints IDs.
func shortDigest(d string) string {
	hex := strings.TrimPrefix(d, "sha256:")
	if len(hex) > 12 {
		hex = hex[:12]
	}
	return hex
}

func newImagesRemove(e *env) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:     "rm REF...",
		Aliases: []string{"remove", "delete"},
		Short:   "Remove stored images by reference, or by digest (sha256:…, every reference to it)",
		Long: `Remove deletes image references from the server; their layers go with the
next collection once no image uses them. An image that functions use is
refused (ImageInUse, naming them) unless --force: their next cold start would
pull it from its registry again, or fail for an imported image.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := e.client()
			if err != nil {
				return err
			}
			for _, ref := range args {
				removed, err := c.DeleteImage(cmd.Context(), ref, force)
				if client.HasCode(err, "ImageInUse") {
					return &hintError{err: err, hint: "--force removes it all the same"}
				}
				if err != nil {
					return err
				}
				for _, im := range removed {
					fmt.Fprintf(e.stdout, "removed %s %s\n", im.Ref, im.Digest)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "remove images that functions use")
	return cmd
}
