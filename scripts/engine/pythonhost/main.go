// Command pulumi-language-python is the Python language host that scripts/install-engine.sh puts
// on PATH: a thin front for the real host (built from sdk/v3 v3.79.0, see ../langhost/go.mod),
// installed in .tools/libexec/ beside its pulumi-language-python-exec shim.
//
// Why it exists: engines since v3.80 hand runtime options to the host over gRPC, where v3.79
// expected them as flags, so on its own that host ignores Pulumi.yaml's `virtualenv` option and
// runs the python3 it finds on PATH. This front reads the project file the engine would (the
// nearest Pulumi.yaml, Pulumi.yml or Pulumi.json above the working directory, with Pulumi's own
// loader) and passes `-root` and `-virtualenv` to the host, which then resolves the virtualenv
// relative to the project directory and runs the program with its python, as current Pulumi
// does. It replaces itself with the host (exec), so signals and exit codes are the host's own.
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
)

const hostName = "pulumi-language-python"

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", hostName, err)
		os.Exit(1)
	}
}

func run() error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("cannot locate this executable: %w", err)
	}
	host := filepath.Join(filepath.Dir(self), "..", "libexec", hostName)
	flags, err := projectFlags()
	if err != nil {
		return err
	}
	args := append([]string{host}, flags...)
	args = append(args, os.Args[1:]...)
	if err := syscall.Exec(host, args, os.Environ()); err != nil {
		return fmt.Errorf("cannot start %s (run `make engine`): %w", host, err)
	}
	return nil
}

// projectFlags are the host flags for the project around the working directory: none when there
// is no project (the engine also starts the host for commands such as `pulumi about`).
func projectFlags() ([]string, error) {
	cwd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	path, err := workspace.DetectProjectPathFrom(cwd)
	if errors.Is(err, workspace.ErrProjectNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	project, err := workspace.LoadProject(path)
	if err != nil {
		return nil, err
	}
	root := filepath.Dir(path)
	flags := []string{"-root=" + root}
	virtualenv, ok := project.Runtime.Options()["virtualenv"].(string)
	if ok && virtualenv != "" {
		flags = append(flags, "-virtualenv="+virtualenv)
	}
	return flags, nil
}
