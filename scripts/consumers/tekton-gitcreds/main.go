// Command tekton-gitcreds runs Tekton Pipelines' own git credential code
// (github.com/tektoncd/pipeline/pkg/credentials/gitcreds) the way a TaskRun pod does:
//
//  1. the controller (pkg/pod/creds_init.go) asks gitcreds.NewBuilder().MatchingAnnotations for
//     every Secret of the ServiceAccount and collects the -basic-git=<secret>=<url> flags;
//  2. the step's entrypoint (cmd/entrypoint/main.go) parses those flags with gitcreds.AddFlags
//     (exiting 1 on a parse error, so the step never runs) and calls Write on the home directory.
//
// Usage: tekton-gitcreds -volumes <dir> -home <dir> <secret.json>...
//
// Each <secret.json> is a Secret as the API server returns it; <dir>/<name>/ holds its keys as
// files, like /tekton/creds-secrets/<name>/. Prints the flags, then writes <home>/.gitconfig and
// <home>/.git-credentials exactly as creds-init does.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/tektoncd/pipeline/pkg/credentials/gitcreds"
	credmatcher "github.com/tektoncd/pipeline/pkg/credentials/matcher"
	corev1 "k8s.io/api/core/v1"
)

func main() {
	volumes := flag.String("volumes", "", "directory standing for /tekton/creds-secrets")
	home := flag.String("home", "", "the step's HOME")
	flag.Parse()
	if *volumes == "" || *home == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: tekton-gitcreds -volumes <dir> -home <dir> <secret.json>...")
		os.Exit(2)
	}
	var args []string
	builder := gitcreds.NewBuilder()
	for _, file := range flag.Args() {
		raw, err := os.ReadFile(file)
		if err != nil {
			fail(err)
		}
		var secret corev1.Secret
		if err := json.Unmarshal(raw, &secret); err != nil {
			fail(fmt.Errorf("%s: %w", file, err))
		}
		args = append(args, builder.MatchingAnnotations(&secret)...)
	}
	for _, arg := range args {
		fmt.Println(arg)
	}
	credmatcher.VolumePath = *volumes
	entrypoint := flag.NewFlagSet("entrypoint", flag.ContinueOnError)
	gitcreds.AddFlags(entrypoint)
	if err := entrypoint.Parse(args); err != nil {
		os.Exit(1)
	}
	if err := builder.Write(*home); err != nil {
		fail(fmt.Errorf("Error initializing credentials: %w", err))
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
