package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// openInRoot opens a file of a container's root filesystem by its path
// inside the container ("/etc/passwd"), never leaving that root.
type openInRoot func(name string) (io.ReadCloser, error)

// resolveUser turns an image's user ("", "uid", "uid:gid", "name",
// "name:group", …) into ids, as Docker does: a name is looked up in the
// root's /etc/passwd, a group name in /etc/group; a numeric uid without a
// group takes its passwd entry's group, else 0; the user's other groups
// in /etc/group become its additional gids.
func resolveUser(user string, open openInRoot) (specs.User, error) {
	if user == "" {
		return specs.User{}, nil
	}
	name, group, hasGroup := strings.Cut(user, ":")
	if name == "" || (hasGroup && group == "") {
		return specs.User{}, fmt.Errorf("user %q: want uid, uid:gid, name or name:group", user)
	}
	var u specs.User
	uid, numeric := parseID(name)
	pw, err := findPasswd(open, name, uid, numeric)
	switch {
	case err != nil && !numeric:
		return specs.User{}, fmt.Errorf("user %q: %w", user, err)
	case err == nil:
		u.UID, u.GID = pw.uid, pw.gid
		name = pw.name
	default: // numeric, not in /etc/passwd
		u.UID = uid
		name = ""
	}
	if hasGroup {
		gid, ok := parseID(group)
		if !ok {
			if gid, err = findGroup(open, group); err != nil {
				return specs.User{}, fmt.Errorf("user %q: %w", user, err)
			}
		}
		u.GID = gid
	}
	if name != "" {
		// Best effort, as Docker: no /etc/group means no other groups.
		u.AdditionalGids, _ = memberOf(open, name, u.GID)
	}
	return u, nil
}

// parseID parses a numeric uid or gid.
func parseID(s string) (uint32, bool) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == math.MaxUint32 {
		return 0, false
	}
	return uint32(n), true
}

type passwdEntry struct {
	name     string
	uid, gid uint32
}

// findPasswd finds the entry of name (or of uid when numeric) in
// /etc/passwd.
func findPasswd(open openInRoot, name string, uid uint32, numeric bool) (passwdEntry, error) {
	var found *passwdEntry
	err := scanColonFile(open, "/etc/passwd", func(f []string) bool {
		if len(f) < 4 {
			return false
		}
		u, ok1 := parseID(f[2])
		g, ok2 := parseID(f[3])
		if !ok1 || !ok2 || (f[0] != name && (!numeric || u != uid)) {
			return false
		}
		found = &passwdEntry{name: f[0], uid: u, gid: g}
		return true
	})
	if err != nil {
		return passwdEntry{}, err
	}
	if found == nil {
		return passwdEntry{}, fmt.Errorf("no user %s in /etc/passwd", name)
	}
	return *found, nil
}

// findGroup finds the gid of group name in /etc/group.
func findGroup(open openInRoot, name string) (uint32, error) {
	var gid uint32
	found := false
	err := scanColonFile(open, "/etc/group", func(f []string) bool {
		if len(f) < 3 || f[0] != name {
			return false
		}
		gid, found = parseID(f[2])
		return found
	})
	if err != nil {
		return 0, err
	}
	if !found {
		return 0, fmt.Errorf("no group %s in /etc/group", name)
	}
	return gid, nil
}

// memberOf lists the gids of the groups whose member lists name user,
// other than primary.
func memberOf(open openInRoot, user string, primary uint32) ([]uint32, error) {
	var gids []uint32
	err := scanColonFile(open, "/etc/group", func(f []string) bool {
		if len(f) < 4 {
			return false
		}
		gid, ok := parseID(f[2])
		if !ok || gid == primary {
			return false
		}
		for _, m := range strings.Split(f[3], ",") {
			if m == user {
				gids = append(gids, gid)
				break
			}
		}
		return false
	})
	return gids, err
}

// scanColonFile calls match with the fields of each line of a passwd-style
// file until it returns true.
func scanColonFile(open openInRoot, name string, match func([]string) bool) error {
	r, err := open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no %s in the root file system", name)
	}
	if err != nil {
		return err
	}
	defer r.Close()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if match(strings.Split(line, ":")) {
			return nil
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	return nil
}
