// Command flux-gogit clones (and optionally pushes) with Flux's own git code: the Secret's data
// goes through github.com/fluxcd/pkg/git.NewAuthOptions, as source-controller does for a
// GitRepository's spec.secretRef (username/password, bearerToken, ca.crt), and the clone and push
// through github.com/fluxcd/pkg/git/gogit (go-git), as source-controller and
// image-automation-controller do.
//
// Usage: flux-gogit -secret <secret.json> -url <clone URL> -dir <dir> [-branch main] [-push <branch>]
//
// Prints the cloned commit. Exit 1 with the client's error when anything fails.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/fluxcd/pkg/git"
	"github.com/fluxcd/pkg/git/gogit"
	"github.com/fluxcd/pkg/git/repository"
	corev1 "k8s.io/api/core/v1"
)

func main() {
	secretFile := flag.String("secret", "", "the Secret as JSON (spec.secretRef)")
	repoURL := flag.String("url", "", "GitRepository spec.url")
	dir := flag.String("dir", "", "where to clone")
	branch := flag.String("branch", "main", "GitRepository spec.ref.branch")
	push := flag.String("push", "", "commit a file and push it to this new branch")
	flag.Parse()
	if err := run(*secretFile, *repoURL, *dir, *branch, *push); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(secretFile, repoURL, dir, branch, push string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var data map[string][]byte
	if secretFile != "" {
		raw, err := os.ReadFile(secretFile)
		if err != nil {
			return err
		}
		var secret corev1.Secret
		if err := json.Unmarshal(raw, &secret); err != nil {
			return err
		}
		data = secret.Data
	}
	u, err := url.Parse(repoURL)
	if err != nil {
		return err
	}
	authOpts, err := git.NewAuthOptions(*u, data)
	if err != nil {
		return fmt.Errorf("auth options: %w", err)
	}
	client, err := gogit.NewClient(dir, authOpts, gogit.WithDiskStorage())
	if err != nil {
		return err
	}
	commit, err := client.Clone(ctx, repoURL, repository.CloneConfig{
		CheckoutStrategy: repository.CheckoutStrategy{Branch: branch},
	})
	if err != nil {
		return fmt.Errorf("clone: %w", err)
	}
	fmt.Println("cloned", commit.Hash.String())
	if push == "" {
		return nil
	}
	if err := client.SwitchBranch(ctx, push); err != nil {
		return fmt.Errorf("switch branch: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, push+".txt"), []byte(push), 0o644); err != nil {
		return err
	}
	hash, err := client.Commit(git.Commit{
		Author:  git.Signature{Name: "flux", Email: "flux@example.invalid"},
		Message: push,
	})
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if err := client.Push(ctx, repository.PushConfig{}); err != nil {
		return fmt.Errorf("push: %w", err)
	}
	fmt.Println("pushed", hash)
	return nil
}
