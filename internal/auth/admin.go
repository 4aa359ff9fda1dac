package auth

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/openfc/openfc/pkg/fcsign"
)

// Environment variables that set the admin access key.
const (
	EnvAccessKeyID     = "OPENFC_ACCESS_KEY_ID"
	EnvAccessKeySecret = "OPENFC_ACCESS_KEY_SECRET"
)

// CredentialsFile is the name of the admin key file inside the data dir.
const CredentialsFile = "credentials.json"

// Shapes of generated keys: "LTAI" + 20 alphanumerics, and a 30-character
// alphanumeric secret, like Alibaba Cloud access keys.
const (
	accessKeyIDPrefix = "LTAI"
	accessKeyIDRandom = 20
	accessKeySecretN  = 30
	alnum             = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
)

// ErrNoAdmin is wrapped by LoadAdmin when no admin key is configured.
var ErrNoAdmin = errors.New("no admin credentials")

// LoadOrCreateAdmin returns the admin access key. It comes from the
// environment (OPENFC_ACCESS_KEY_ID and OPENFC_ACCESS_KEY_SECRET, read with
// getenv; nil means os.Getenv) when both are set; else from
// dataDir/credentials.json; else a new random key is generated with
// crypto/rand, written to dataDir/credentials.json with mode 0600 and
// returned. Setting only one of the two variables is an error. Concurrent
// callers sharing dataDir all end up with the same key.
func LoadOrCreateAdmin(dataDir string, getenv func(string) string) (fcsign.Credentials, error) {
	c, err := LoadAdmin(dataDir, getenv)
	if !errors.Is(err, ErrNoAdmin) {
		return c, err
	}
	c, err = generate()
	if err != nil {
		return fcsign.Credentials{}, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fcsign.Credentials{}, fmt.Errorf("create data dir for admin credentials: %w", err)
	}
	created, err := writeNew(filepath.Join(dataDir, CredentialsFile), c)
	if err != nil {
		return fcsign.Credentials{}, err
	}
	if !created {
		// Another process created the file first: use its key.
		return readFile(filepath.Join(dataDir, CredentialsFile))
	}
	return c, nil
}

// LoadAdmin is LoadOrCreateAdmin without the creation step, for the CLI:
// when neither the environment nor dataDir/credentials.json has a key, the
// error wraps ErrNoAdmin and says how to provide one.
func LoadAdmin(dataDir string, getenv func(string) string) (fcsign.Credentials, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	id, secret := getenv(EnvAccessKeyID), getenv(EnvAccessKeySecret)
	switch {
	case id != "" && secret != "":
		return fcsign.Credentials{AccessKeyID: id, AccessKeySecret: secret}, nil
	case id != "":
		return fcsign.Credentials{}, fmt.Errorf("%s is set but %s is not: set both or neither", EnvAccessKeyID, EnvAccessKeySecret)
	case secret != "":
		return fcsign.Credentials{}, fmt.Errorf("%s is set but %s is not: set both or neither", EnvAccessKeySecret, EnvAccessKeyID)
	}
	path := filepath.Join(dataDir, CredentialsFile)
	c, err := readFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fcsign.Credentials{}, fmt.Errorf("%w: %s does not exist and %s/%s are not set; start the openfc daemon once with this data dir to create it, or set both variables",
			ErrNoAdmin, path, EnvAccessKeyID, EnvAccessKeySecret)
	}
	return c, err
}

// readFile reads and checks a credentials file.
func readFile(path string) (fcsign.Credentials, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return fcsign.Credentials{}, fmt.Errorf("read admin credentials: %w", err)
	}
	var c fcsign.Credentials
	if err := json.Unmarshal(b, &c); err != nil {
		return fcsign.Credentials{}, fmt.Errorf("parse admin credentials %s: %w", path, err)
	}
	if c.AccessKeyID == "" || c.AccessKeySecret == "" {
		return fcsign.Credentials{}, fmt.Errorf("admin credentials %s: accessKeyId and accessKeySecret are required", path)
	}
	return c, nil
}

// writeNew writes c to path unless path exists, atomically: the key is
// written to a temporary file that is then hard-linked to path, so readers
// never see a partial file. created is false when path existed already.
func writeNew(path string, c fcsign.Credentials) (created bool, err error) {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return false, fmt.Errorf("encode admin credentials: %w", err)
	}
	b = append(b, '\n')
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+CredentialsFile+".tmp-*")
	if err != nil {
		return false, fmt.Errorf("write admin credentials: %w", err)
	}
	defer os.Remove(tmp.Name())
	// CreateTemp uses mode 0600 already; Chmod makes it independent of that.
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return false, fmt.Errorf("write admin credentials: %w", err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return false, fmt.Errorf("write admin credentials: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return false, fmt.Errorf("write admin credentials: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return false, fmt.Errorf("write admin credentials: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		return false, fmt.Errorf("write admin credentials: %w", err)
	}
	return true, nil
}

// generate returns a new random access key.
func generate() (fcsign.Credentials, error) {
	id, err := randomAlnum(accessKeyIDRandom)
	if err != nil {
		return fcsign.Credentials{}, err
	}
	secret, err := randomAlnum(accessKeySecretN)
	if err != nil {
		return fcsign.Credentials{}, err
	}
	return fcsign.Credentials{AccessKeyID: accessKeyIDPrefix + id, AccessKeySecret: secret}, nil
}

// randomAlnum returns n uniformly random alphanumeric characters drawn
// from crypto/rand, by rejection sampling so that no character is more
// likely than another.
func randomAlnum(n int) (string, error) {
	const limit = 256 - 256%len(alnum) // largest multiple of 62 that fits a byte
	out := make([]byte, 0, n)
	buf := make([]byte, 2*n)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("generate access key: %w", err)
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alnum[int(b)%len(alnum)])
			}
		}
	}
	return string(out), nil
}
