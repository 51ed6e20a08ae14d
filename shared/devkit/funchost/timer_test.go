package funchost

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// timerData is Data.<timer> as a handler decodes it.
type timerData struct {
	Schedule       struct{ AdjustForDST bool }
	ScheduleStatus *struct{ Last, Next, LastUpdated string }
	IsPastDue      bool
}

func TestFireTimer(t *testing.T) {
	ctx := testContext(t)
	env := newEnv(t, "testdata/app", nil)
	env.fake.setReply(func(received) reply { return ok(`{"Outputs": {}, "Logs": ["payroll check"]}`) })

	// testNow is Monday 2026-11-23 09:00 UTC; Nightly runs at 09:30 on weekdays.
	inv, err := env.host.FireTimer(ctx, "Nightly", true)
	if err != nil {
		t.Fatal(err)
	}
	if !inv.Succeeded || inv.Trigger != TriggerTimer {
		t.Fatalf("invocation %+v", inv)
	}
	got := env.fake.last(t)
	var td timerData
	if err := json.Unmarshal(got.Data["timer"], &td); err != nil {
		t.Fatal(err)
	}
	want := timerData{IsPastDue: true}
	want.Schedule.AdjustForDST = true
	want.ScheduleStatus = &struct{ Last, Next, LastUpdated string }{
		Last: "0001-01-01T00:00:00", Next: "2026-11-23T09:30:00+00:00", LastUpdated: "2026-11-23T09:00:00+00:00",
	}
	if diff := cmp.Diff(want, td); diff != "" {
		t.Errorf("Data.timer (-want +got):\n%s", diff)
	}
	if len(got.Metadata) != 1 || got.Metadata["sys"] == nil {
		t.Errorf("timer Metadata = %v, want only sys", got.Metadata)
	}
	var sys struct{ MethodName, UtcNow string }
	if err := json.Unmarshal(got.Metadata["sys"], &sys); err != nil || sys.MethodName != "Nightly" || sys.UtcNow != "2026-11-23T09:00:00Z" {
		t.Errorf("sys = %s", got.Metadata["sys"])
	}

	// Friday evening: the next run is Monday morning, and Last is the
	// previous firing.
	env.clock.Set(time.Date(2026, 11, 27, 18, 0, 0, 0, time.UTC))
	if _, err := env.host.FireTimer(ctx, "nightly", false); err != nil {
		t.Fatal(err)
	}
	td = timerData{}
	if err := json.Unmarshal(env.fake.last(t).Data["timer"], &td); err != nil {
		t.Fatal(err)
	}
	if td.IsPastDue || td.ScheduleStatus.Next != "2026-11-30T09:30:00+00:00" || td.ScheduleStatus.Last != "2026-11-23T09:00:00+00:00" {
		t.Errorf("second firing: %+v %+v", td, td.ScheduleStatus)
	}

	// A schedule given as a %SETTING% ("0 0 * * * *" in newEnv).
	if _, err := env.host.FireTimer(ctx, "Hourly", false); err != nil {
		t.Fatal(err)
	}
	td = timerData{}
	if err := json.Unmarshal(env.fake.last(t).Data["myTimer"], &td); err != nil {
		t.Fatal(err)
	}
	if td.ScheduleStatus.Next != "2026-11-27T19:00:00+00:00" {
		t.Errorf("Hourly Next = %s", td.ScheduleStatus.Next)
	}

	if _, err := env.host.FireTimer(ctx, "Agencies", false); err == nil || !strings.Contains(err.Error(), "not a timerTrigger") {
		t.Errorf("FireTimer(Agencies) = %v, want 'not a timerTrigger'", err)
	}

	env.fake.setReply(func(received) reply { return reply{status: 500} })
	inv, err = env.host.FireTimer(ctx, "Nightly", false)
	if err != nil || inv.Succeeded || inv.HandlerStatus != 500 {
		t.Errorf("failing timer: %+v, %v", inv, err)
	}
}

func TestTimerScheduleSettingMissing(t *testing.T) {
	app, err := Load("testdata/app")
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{"WORK_QUEUE": "work", "NEXT_QUEUE": "next", "STEPS_QUEUE": "steps"}
	if _, err := app.Target("http://127.0.0.1:1", Config{Settings: settings}); err == nil || !strings.Contains(err.Error(), "HOURLY_SCHEDULE") {
		t.Errorf("Target = %v, want an error naming HOURLY_SCHEDULE", err)
	}
	settings["HOURLY_SCHEDULE"] = "every hour"
	if _, err := app.Target("http://127.0.0.1:1", Config{Settings: settings}); err == nil || !strings.Contains(err.Error(), "Hourly") {
		t.Errorf("Target = %v, want a schedule error naming the Hourly function file", err)
	}
}
