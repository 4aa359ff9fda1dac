//go:build linux

package sandbox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseMountInfo(t *testing.T) {
	in := `22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
35 22 0:30 / /sys/fs/cgroup/memory rw,nosuid shared:9 - cgroup cgroup rw,memory
40 22 0:40 / /data/with\040space rw master:3 - overlay overlay rw,lowerdir=/a
bad line
`
	got, err := parseMountInfo(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []mountEntry{
		{point: "/", fstype: "ext4", superOpts: "rw"},
		{point: "/sys/fs/cgroup/memory", fstype: "cgroup", superOpts: "rw,memory"},
		{point: "/data/with space", fstype: "overlay", superOpts: "rw,lowerdir=/a"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

// rootOpener keeps symbolic links, absolute ones too, inside the root.
func TestRootOpener(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"etc/real": "inside"})
	if err := os.Symlink("/etc/real", filepath.Join(root, "etc/passwd")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../../../../../etc/hostname", filepath.Join(root, "etc/group")); err != nil {
		t.Fatal(err)
	}
	open := rootOpener(root)
	f, err := open("/etc/passwd")
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 16)
	n, _ := f.Read(b)
	f.Close()
	if string(b[:n]) != "inside" {
		t.Errorf("/etc/passwd -> /etc/real read %q", b[:n])
	}
	if f, err := open("/etc/group"); err == nil {
		f.Close()
		t.Error("a link out of the root opened the host's file")
	}
}
