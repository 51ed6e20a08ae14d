package funchost_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/shared-tenant/licensetrack/shared/devkit/funchost"
)

// Example drives an in-process custom handler through the harness: an HTTP
// request, the queues it feeds, and a timer. It needs Azurite for the queue
// part, so it is compiled but not run.
func Example() {
	ctx := context.Background()
	var handler http.Handler // the app's custom handler, e.g. handlers.New(...)

	app, err := funchost.Load("../../..") // host.json and functions/*/function.json
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(handler)
	defer srv.Close()
	host, err := app.Target(srv.URL, funchost.Config{
		QueueEndpoint:   funchost.DevQueueEndpoint,
		QueueCredential: funchost.DevCredential(),
		Settings:        map[string]string{"ACTIVATION_QUEUE": "activation-steps", "WORK_QUEUE": "work-items"},
	})
	if err != nil {
		panic(err)
	}

	rec := httptest.NewRecorder()
	host.ServeHTTP(rec, httptest.NewRequest("POST", "/api/purchase-orders", strings.NewReader(`{"agency":"DOJ"}`)))
	fmt.Println(rec.Code)

	if err := host.DrainQueues(ctx); err != nil { // runs ActivationSteps until its queue is empty
		panic(err)
	}
	fmt.Printf("%+v\n", host.QueueCounts("ActivationSteps"))

	inv, err := host.FireTimer(ctx, "PayrollReport", false)
	if err != nil {
		panic(err)
	}
	fmt.Println(inv.Succeeded, inv.Logs)
}
