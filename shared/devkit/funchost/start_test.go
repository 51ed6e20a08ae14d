package funchost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"
)

// helperEnv makes the test binary act as a custom handler (see TestMain).
const helperEnv = "FUNCHOST_TEST_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helperMain(mode))
	}
	os.Exit(m.Run())
}

// helperMain is a tiny custom handler run in a child process: "serve"
// listens on FUNCTIONS_CUSTOMHANDLER_PORT, "exit" fails at start, "silent"
// never listens.
func helperMain(mode string) int {
	switch mode {
	case "exit":
		fmt.Fprintln(os.Stderr, "boom: no configuration")
		return 3
	case "silent":
		time.Sleep(time.Minute) // bounded, and Start kills it long before
		return 0
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /Agencies", func(w http.ResponseWriter, r *http.Request) {
		wd, _ := os.Getwd()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"Outputs": {"res": {"statusCode": 200, "body": %q}}, "Logs": ["from the child"]}`,
			os.Getenv("GREETING")+" from "+wd)
	})
	srv := &http.Server{Addr: "127.0.0.1:" + os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT"), Handler: mux}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM)
	go func() {
		<-stop
		fmt.Fprintln(os.Stdout, "helper: SIGTERM, shutting down")
		_ = srv.Close()
	}()
	fmt.Fprintln(os.Stdout, "helper: listening on port", os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT"))
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 1
	}
	return 0
}

func TestStart(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	app, err := Load("testdata/app")
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{"WORK_QUEUE": "work", "NEXT_QUEUE": "next", "STEPS_QUEUE": "steps", "HOURLY_SCHEDULE": "0 0 * * * *"}

	t.Run("serves", func(t *testing.T) {
		out := &syncBuffer{}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		h, err := app.Start(ctx, self, append(os.Environ(), helperEnv+"=serve", "GREETING=hello"), Config{Settings: settings, HandlerOutput: out})
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/agencies", nil))
		if want := "hello from " + app.Dir; rec.Code != 200 || rec.Body.String() != want {
			t.Errorf("through the child: %d %q, want 200 %q (env passed, working directory the app's)", rec.Code, rec.Body.String(), want)
		}
		if inv, _ := h.LastInvocation("Agencies"); len(inv.Logs) != 1 {
			t.Errorf("invocation logs %v", inv.Logs)
		}
		if err := h.Close(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-h.proc.done:
		default:
			t.Error("the handler process is still running after Close")
		}
		if !strings.Contains(out.String(), "helper: listening on port") || !strings.Contains(out.String(), "SIGTERM") {
			t.Errorf("handler output not captured:\n%s", out.String())
		}
	})

	t.Run("exits at start", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := app.Start(ctx, self, append(os.Environ(), helperEnv+"=exit"), Config{Settings: settings, HandlerOutput: io.Discard})
		if err == nil || !strings.Contains(err.Error(), "exited before it answered") || !strings.Contains(err.Error(), "boom: no configuration") {
			t.Errorf("Start = %v, want an 'exited' error with the handler's output", err)
		}
	})

	t.Run("never answers", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		start := time.Now()
		_, err := app.Start(ctx, self, append(os.Environ(), helperEnv+"=silent"), Config{Settings: settings, StartTimeout: time.Second})
		if err == nil || !strings.Contains(err.Error(), "did not answer") {
			t.Errorf("Start = %v, want a 'did not answer' error", err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("Start took %s to give up", d)
		}
	})

	t.Run("missing executable", func(t *testing.T) {
		_, err := app.Start(context.Background(), "", nil, Config{Settings: settings})
		if err == nil || !strings.Contains(err.Error(), "handler") {
			t.Errorf("Start = %v, want an error naming the app's default executable", err)
		}
	})
}
