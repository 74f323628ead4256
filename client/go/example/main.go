// Command example stores a memory, retrieves it by relevance, then syncs a
// repository with a progress line; Ctrl-C cancels the sync, prints the state
// mnemod recorded and exits 130.
//
//	mnemo-example [REPOSITORY_PATH]
//
// MNEMO_SERVER (default 127.0.0.1:50051) picks the server, MNEMO_TOKEN a
// bearer token, MNEMO_CA a CA file to turn TLS on. REPOSITORY_PATH is on the
// server's disk, inside one of its --allow-root directories (default: the
// current directory).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	mnemo "mnemo.dev/client/go"
	"mnemo.dev/client/go/mnemov1"
)

func main() {
	os.Exit(run())
}

func run() int {
	c, err := dial()
	if err != nil {
		return fail(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	stored, err := c.StoreMemory(ctx, &mnemov1.StoreMemoryRequest{
		Content:  "the staging database moved to db2.internal on 3 May",
		Tags:     []string{"ops"},
		Metadata: map[string]string{"source": "example.go"},
	})
	if err != nil {
		return fail(err)
	}
	fmt.Printf("stored %s (created %v)\n", stored.Memory.Id[:12], stored.Created)

	found, err := c.RetrieveMemory(ctx, &mnemov1.RetrieveMemoryRequest{Query: "staging database", Limit: 3})
	if err != nil {
		return fail(err)
	}
	for _, r := range found.Results {
		fmt.Printf("%.2f  %s\n", r.Score, r.Memory.Content)
	}

	path := "."
	if len(os.Args) > 1 {
		path = os.Args[1]
	}
	if path, err = filepath.Abs(path); err != nil {
		return fail(err)
	}
	return sync(c, path)
}

func dial() (*mnemo.Client, error) {
	server := os.Getenv("MNEMO_SERVER")
	if server == "" {
		server = "127.0.0.1:50051"
	}
	opts := []mnemo.Option{mnemo.WithToken(os.Getenv("MNEMO_TOKEN"))}
	if ca := os.Getenv("MNEMO_CA"); ca != "" {
		cfg, err := mnemo.TLSConfig(ca, "", "", "")
		if err != nil {
			return nil, err
		}
		opts = append(opts, mnemo.WithTLS(cfg))
	}
	return mnemo.Dial(server, opts...)
}

// sync follows the sync with a progress line until it ends or Ctrl-C.
func sync(c *mnemo.Client, path string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	last, err := c.Sync(ctx, &mnemov1.SyncRepositoryRequest{RepositoryPath: path},
		func(ev *mnemov1.SyncEvent) {
			s, p := ev.Status, ev.Status.GetProgress()
			line := fmt.Sprintf("%3.0f%%  %d/%d files  %s  %s", p.GetPercentage(),
				p.GetProcessedFiles(), p.GetTotalFiles(), s.GetState(), ev.CurrentPath)
			if len(line) > 100 {
				line = line[:100]
			}
			fmt.Printf("\r%s\x1b[K", line)
		})
	fmt.Println()
	if status.Code(err) == codes.Canceled && ctx.Err() != nil {
		fmt.Println("cancelled: the server stops the sync at its next batch boundary")
		if last != nil {
			fmt.Printf("the server reads %s\n", settled(c, last.RepositoryName))
		}
		return 130
	}
	if err != nil {
		return fail(err)
	}
	return 0
}

// settled is the sync's state once it left RUNNING, or RUNNING after 3 s.
func settled(c *mnemo.Client, name string) mnemov1.SyncState {
	for i := 0; ; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		st, err := c.GetSyncStatus(ctx, &mnemov1.GetSyncStatusRequest{RepositoryName: name})
		cancel()
		if err != nil || st.State != mnemov1.SyncState_SYNC_STATE_RUNNING || i == 30 {
			return st.GetState()
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func fail(err error) int {
	if s, ok := status.FromError(err); ok {
		fmt.Fprintf(os.Stderr, "example: %s: %s\n", s.Code(), s.Message())
	} else {
		fmt.Fprintf(os.Stderr, "example: %v\n", err)
	}
	return 1
}
