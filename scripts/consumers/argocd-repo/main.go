// Command argocd-repo reads a repository the way Argo CD's repo-server does and clones it with
// Argo CD's own git client:
//
//  1. util/db (NewDB over util/settings) finds the repository in Argo CD's namespace on the
//     control plane: Secrets labelled argocd.argoproj.io/secret-type=repository whose url
//     matches, else repo-creds templates whose url is a prefix (GetRepository, with
//     enrichCredsToRepo);
//  2. Repository.GetGitCreds turns it into git credentials (username/password through Argo
//     CD's askpass server, bearerToken as an Authorization header);
//  3. util/git's nativeGitClient runs the git CLI: init, fetch, checkout, and optionally a
//     commit pushed to a new branch (CommitAndPush, as the source hydrator does). A private CA
//     comes from ARGOCD_TLS_DATA_PATH/<host>, as mounted from argocd-tls-certs-cm.
//
// Usage: argocd-repo -kubeconfig <file> -namespace <ns> -url <repo URL> -dir <dir> [-push <branch>]
//
// When git calls it back as its askpass helper (ARGOCD_BINARY_NAME=argocd-git-ask-pass), it
// runs Argo CD's argocd-git-ask-pass command instead.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	askpasscmd "github.com/argoproj/argo-cd/v3/cmd/argocd-git-ask-pass/commands"
	"github.com/argoproj/argo-cd/v3/util/askpass"
	"github.com/argoproj/argo-cd/v3/util/db"
	"github.com/argoproj/argo-cd/v3/util/git"
	"github.com/argoproj/argo-cd/v3/util/settings"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

func main() {
	if os.Getenv("ARGOCD_BINARY_NAME") == "argocd-git-ask-pass" {
		if err := askpasscmd.NewCommand().Execute(); err != nil {
			os.Exit(1)
		}
		return
	}
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the control plane")
	namespace := flag.String("namespace", "", "Argo CD's namespace")
	repoURL := flag.String("url", "", "the Application's repoURL")
	dir := flag.String("dir", "", "where to clone")
	push := flag.String("push", "", "commit a file and push it to this new branch")
	flag.Parse()
	if err := run(*kubeconfig, *namespace, *repoURL, *dir, *push); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(kubeconfig, namespace, repoURL, dir, push string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	config, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	kube, err := kubernetes.NewForConfig(config)
	if err != nil {
		return err
	}
	argoDB := db.NewDB(namespace, settings.NewSettingsManager(ctx, kube, namespace), kube)
	repo, err := argoDB.GetRepository(ctx, repoURL, "")
	if err != nil {
		return err
	}
	if !repo.HasCredentials() {
		return fmt.Errorf("Argo CD found no credentials for %s", repoURL)
	}
	fmt.Printf("credentials for %s: username %q, password %t, bearerToken %t\n",
		repoURL, repo.Username, repo.Password != "", repo.BearerToken != "")

	// Argo CD's askpass server, and this binary on PATH as the `argocd` git calls back.
	tmp, err := os.MkdirTemp("", "argocd-repo")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if err := os.Symlink(self, filepath.Join(tmp, "argocd")); err != nil {
		return err
	}
	os.Setenv("PATH", tmp+string(os.PathListSeparator)+os.Getenv("PATH"))
	store := askpass.NewServer(filepath.Join(tmp, "askpass.sock"))
	if err := store.Run(); err != nil {
		return err
	}

	client, err := git.NewClientExt(repoURL, dir, repo.GetGitCreds(store), false, false, "", "")
	if err != nil {
		return err
	}
	if err := client.Init(); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	if err := client.Fetch("", 0); err != nil {
		return fmt.Errorf("fetch: %w", err)
	}
	sha, err := client.LsRemote("main")
	if err != nil {
		return fmt.Errorf("ls-remote: %w", err)
	}
	if _, err := client.Checkout(sha, false, true); err != nil {
		return fmt.Errorf("checkout: %w", err)
	}
	fmt.Println("checked out", sha)
	if push == "" {
		return nil
	}
	if _, err := client.SetAuthor("argocd", "argocd@example.invalid"); err != nil {
		return err
	}
	if _, err := client.CheckoutOrNew(push, sha, false); err != nil {
		return fmt.Errorf("branch: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, push+".txt"), []byte(push), 0o644); err != nil {
		return err
	}
	if out, err := client.CommitAndPush(push, push); err != nil {
		return fmt.Errorf("push: %w: %s", err, out)
	}
	fmt.Println("pushed", push)
	return nil
}
