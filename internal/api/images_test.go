package api_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/openfc/openfc/internal/api"
	"github.com/openfc/openfc/internal/auth"
	"github.com/openfc/openfc/internal/images"
	"github.com/openfc/openfc/internal/store/storetest"
	"github.com/openfc/openfc/pkg/client"
)

// imagesEnv is the API over a real image store.
type imagesEnv struct {
	ctx   context.Context
	c     *client.Client
	srv   *httptest.Server
	users map[string][]string // ImageUsers' answers, by normalised ref
}

func newImagesEnv(t *testing.T, maxBytes int64) *imagesEnv {
	t.Helper()
	ctx, conn := storetest.Conn(t)
	st, err := images.New(ctx, images.Options{JS: conn.JS, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	e := &imagesEnv{ctx: ctx, users: map[string][]string{}}
	a := api.New(api.Options{
		Verifier:      &auth.Verifier{Keys: testKeys},
		AccountID:     testAccount,
		Images:        st,
		ImageUsers:    func(ref string) []string { return e.users[ref] },
		MaxImageBytes: maxBytes,
	})
	e.srv = httptest.NewServer(a)
	t.Cleanup(e.srv.Close)
	e.c = client.New(e.srv.URL, testAccount, client.Credentials{AccessKeyID: testKeyID, AccessKeySecret: testKeySecret})
	return e
}

// imageTarball is a `docker save` tarball of a random image tagged tag.
func imageTarball(t *testing.T, tag string) []byte {
	t.Helper()
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	var ref name.Reference
	if tag != "" {
		if ref, err = name.NewTag(tag); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := tarball.Write(ref, img, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func wantCode(t *testing.T, what string, err error, status int, code string) {
	t.Helper()
	var ae *client.Error
	if !errors.As(err, &ae) || ae.Status != status || ae.Code != code {
		t.Fatalf("%s: %v; want %d %s", what, err, status, code)
	}
}

func TestImagesImportListDelete(t *testing.T) {
	e := newImagesEnv(t, 0)
	tb := imageTarball(t, "example.com/app:v1")
	got, err := e.c.ImportImage(e.ctx, bytes.NewReader(tb), int64(len(tb)), "")
	if err != nil {
		t.Fatalf("ImportImage: %v", err)
	}
	if len(got) != 1 || got[0].Ref != "example.com/app:v1" || got[0].Source != "import" || !strings.HasPrefix(got[0].Digest, "sha256:") || got[0].CreatedTime == "" {
		t.Fatalf("imported %+v", got)
	}
	// Chunked (size unknown), under a registry:port name.
	if _, err := e.c.ImportImage(e.ctx, io.MultiReader(bytes.NewReader(tb)), -1, "127.0.0.1:5000/ns/app:v2"); err != nil {
		t.Fatalf("chunked ImportImage: %v", err)
	}
	list, err := e.c.ListImages(e.ctx)
	if err != nil || len(list) != 2 || list[0].Ref != "127.0.0.1:5000/ns/app:v2" || list[1].Ref != "example.com/app:v1" {
		t.Fatalf("ListImages = %+v, %v", list, err)
	}

	e.users["example.com/app:v1"] = []string{"demo/fn"}
	_, err = e.c.DeleteImage(e.ctx, "example.com/app:v1", false)
	wantCode(t, "delete of a used image", err, http.StatusConflict, "ImageInUse")
	if !strings.Contains(err.Error(), "demo/fn") {
		t.Errorf("the refusal does not name the function: %v", err)
	}
	// By digest: the used reference shares it.
	_, err = e.c.DeleteImage(e.ctx, got[0].Digest, false)
	wantCode(t, "delete by digest of a used image", err, http.StatusConflict, "ImageInUse")
	if del, err := e.c.DeleteImage(e.ctx, "example.com/app:v1", true); err != nil || len(del) != 1 {
		t.Fatalf("forced delete = %+v, %v", del, err)
	}
	if del, err := e.c.DeleteImage(e.ctx, "127.0.0.1:5000/ns/app:v2", false); err != nil || len(del) != 1 || del[0].Ref != "127.0.0.1:5000/ns/app:v2" {
		t.Fatalf("delete of a registry:port ref = %+v, %v", del, err)
	}
	_, err = e.c.DeleteImage(e.ctx, "example.com/app:v1", false)
	wantCode(t, "delete of a missing image", err, http.StatusNotFound, "ImageNotFound")
	if list, err := e.c.ListImages(e.ctx); err != nil || len(list) != 0 {
		t.Errorf("ListImages after deletes = %+v, %v", list, err)
	}
}

func TestImagesImportRefused(t *testing.T) {
	e := newImagesEnv(t, 4<<10)
	big := imageTarball(t, "example.com/big:1") // over 4 KiB
	_, err := e.c.ImportImage(e.ctx, bytes.NewReader(big), int64(len(big)), "")
	wantCode(t, "import over the limit", err, http.StatusBadRequest, "EntityTooLarge")
	_, err = e.c.ImportImage(e.ctx, bytes.NewReader(big), -1, "")
	wantCode(t, "chunked import over the limit", err, http.StatusBadRequest, "EntityTooLarge")

	_, err = e.c.ImportImage(e.ctx, strings.NewReader("not a tarball"), -1, "")
	wantCode(t, "import of garbage", err, http.StatusBadRequest, "InvalidArgument")
	_, err = e.c.ImportImage(e.ctx, strings.NewReader("x"), 1, "Not A Ref")
	wantCode(t, "import under a bad reference", err, http.StatusBadRequest, "InvalidArgument")

	anon := client.New(e.srv.URL, testAccount, client.Credentials{AccessKeyID: "nobody", AccessKeySecret: "x"})
	_, err = anon.ListImages(e.ctx)
	wantCode(t, "unsigned list", err, http.StatusForbidden, "InvalidAccessKeyID")
}

func TestImagesUnavailable(t *testing.T) {
	a := api.New(api.Options{
		Verifier:  &auth.Verifier{Keys: testKeys},
		AccountID: testAccount,
	})
	srv := httptest.NewServer(a)
	defer srv.Close()
	c := client.New(srv.URL, testAccount, client.Credentials{AccessKeyID: testKeyID, AccessKeySecret: testKeySecret})
	_, err := c.ListImages(context.Background())
	wantCode(t, "list without a store", err, http.StatusServiceUnavailable, "ServiceUnavailable")
}
