// Package java is openfc's launcher for FC's built-in Java runtimes (java8,
// java11): it runs the user's jar under a bootstrap written in Java (src/,
// embedded here and compiled with javac on the node the first time a Java
// instance starts), which serves the same instance contract as a custom
// runtime and calls FC's HttpRequestHandler and StreamRequestHandler
// (FC 3.0's event style for functions deployed from an fc3 s.yaml).
package java

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/openfc/openfc/internal/fc"
	"github.com/openfc/openfc/internal/runtimes/launch"
)

// Files holds the bootstrap's sources: openfc.bootstrap and FC's
// com.aliyun.fc.runtime interfaces, which user code compiles against.
//
//go:embed src
var Files embed.FS

// ServletJarEnv is the server's environment variable naming the javax
// servlet API jar; by default Debian's libservlet-api-java.
const ServletJarEnv = "OPENFC_SERVLET_API_JAR"

const defaultServletJar = "/usr/share/java/servlet-api.jar"

// minMajor is the oldest JDK the bootstrap runs on (it is compiled with
// --release minMajor).
const minMajor = 11

// Runtime is the launcher of FC's java8 and java11 runtimes: java and
// javac from PATH, the servlet API from ServletJarEnv or Debian's path.
type Runtime struct {
	// ServletJar overrides $OPENFC_SERVLET_API_JAR (tests).
	ServletJar string
}

func (r Runtime) servletJar() string {
	return launch.Setting(r.ServletJar, ServletJarEnv, defaultServletJar)
}

// Matches reports whether rt is one of FC's Java runtimes.
func (Runtime) Matches(rt string) bool {
	_, ok := requested(rt)
	return ok
}

// requested is the JDK major version runtime rt asks for.
func requested(rt string) (int, bool) {
	switch rt {
	case "java8":
		return 8, true
	case "java11":
		return 11, true
	}
	return 0, false
}

// Check reports why Java functions cannot run on this node (no JDK, one
// older than the bootstrap needs, no servlet API), and a warning when the
// JDK is older than rt asks for. A newer JDK runs java8 code as it is.
func (r Runtime) Check(rt string) (warning string, err error) {
	want, ok := requested(rt)
	if !ok {
		return "", fmt.Errorf("runtime %q is not a Java runtime", rt)
	}
	major, full, err := jdkVersion()
	if err != nil {
		return "", fmt.Errorf("runtime %s needs a JDK (java and javac) on this node: install Debian's default-jdk-headless package (apt-get install default-jdk-headless): %w", rt, err)
	}
	if major < minMajor {
		return "", fmt.Errorf("runtime %s needs JDK %d or later on this node, and java is %s: install Debian's default-jdk-headless package", rt, minMajor, full)
	}
	if _, err := exec.LookPath("javac"); err != nil {
		return "", fmt.Errorf("runtime %s needs javac to build openfc's Java bootstrap: install Debian's default-jdk-headless package: %w", rt, err)
	}
	if _, err := os.Stat(r.servletJar()); err != nil {
		return "", fmt.Errorf("runtime %s needs the javax servlet API: install Debian's libservlet-api-java package, or set %s to its jar: %w", rt, ServletJarEnv, err)
	}
	if major < want {
		return fmt.Sprintf("openfc: runtime %s asks for Java %d; this node runs it on Java %s", rt, want, full), nil
	}
	return "", nil
}

var versionRE = regexp.MustCompile(`version "(\d+)(?:\.(\d+))?[^"]*"`)

// jdkVersion runs java -version: its major version ("1.8" is 8).
func jdkVersion() (int, string, error) {
	// java -version writes to stderr.
	path, stdout, stderr, err := launch.Probe("java", "-version")
	if err != nil {
		return 0, "", err
	}
	out := []byte(stderr + "\n" + stdout)
	m := versionRE.FindSubmatch(out)
	if m == nil {
		return 0, "", fmt.Errorf("%s -version printed %q", path, bytes.TrimSpace(out))
	}
	major, _ := strconv.Atoi(string(m[1]))
	if major == 1 && len(m[2]) > 0 {
		major, _ = strconv.Atoi(string(m[2]))
	}
	return major, strings.Trim(string(m[0][8:]), `"`), nil
}

// Launch says how to start an instance of fn (whose handlers package fc
// has checked): java running the compiled bootstrap, which loads the code
// from FC_FUNC_CODE_PATH. The bootstrap is
// compiled the first time (into bootstrapDir/classes).
func (r Runtime) Launch(fn *fc.Function, codeDir, bootstrapDir string) (launch.Launch, error) {
	classes, err := compile(bootstrapDir, r.servletJar())
	if err != nil {
		return launch.Launch{}, err
	}
	argv := []string{"java",
		// Env.takeToken edits System.getenv()'s map to hide the token.
		"--add-opens", "java.base/java.util=ALL-UNNAMED",
		// Serverless instances are small and short: a quick start over peak throughput.
		"-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto",
	}
	if fn.MemorySize > 0 {
		argv = append(argv, fmt.Sprintf("-Xmx%dm", fn.MemorySize*3/4))
	}
	argv = append(argv, "-cp", classes+string(os.PathListSeparator)+r.servletJar(), "openfc.bootstrap.Main")
	env := []string{"FC_RUNTIME=" + fn.Runtime}
	return launch.Launch{Command: argv, Env: env}, nil
}

// compile builds the bootstrap into bootstrapDir/classes unless it is
// there. Concurrent first starts each compile into a directory of their
// own and rename it into place: the first wins, the others' is removed.
func compile(bootstrapDir, servletJar string) (string, error) {
	classes := filepath.Join(bootstrapDir, "classes")
	if _, err := os.Stat(filepath.Join(classes, "openfc", "bootstrap", "Main.class")); err == nil {
		return classes, nil
	}
	src := filepath.Join(bootstrapDir, "src")
	var files []string
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".java") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("reading the Java bootstrap's sources: %w", err)
	}
	tmp, err := os.MkdirTemp(bootstrapDir, "classes-")
	if err != nil {
		return "", fmt.Errorf("compiling the Java bootstrap: %w", err)
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := append([]string{"-nowarn", "--release", strconv.Itoa(minMajor), "-encoding", "UTF-8", "-d", tmp, "-cp", servletJar}, files...)
	if out, err := exec.CommandContext(ctx, "javac", args...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("compiling openfc's Java bootstrap with javac (needs default-jdk-headless and libservlet-api-java): %w\n%s", err, out)
	}
	if err := os.Rename(tmp, classes); err != nil {
		if _, statErr := os.Stat(classes); statErr != nil {
			return "", fmt.Errorf("installing the compiled Java bootstrap: %w", err)
		}
	}
	return classes, nil
}
