package usage_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shared-tenant/licensetrack/shared/licensing"
	"github.com/shared-tenant/licensetrack/shared/usage"
)

// dyingQueue passes the first ok messages on to q and fails every later
// one: a process that dies while sending.
type dyingQueue struct {
	q  licensing.WorkQueue
	mu sync.Mutex
	ok int
}

func (d *dyingQueue) Send(ctx context.Context, text string, after time.Duration) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ok == 0 {
		return licensing.Errorf("test", licensing.Unavailable, "the process died")
	}
	d.ok--
	return d.q.Send(ctx, text, after)
}

func TestSplitSnapshotStartDiedWhileSendingSegments(t *testing.T) {
	f := newSplitFixture(t, 60, nil)
	ctx := context.Background()
	// The check and two of the four segments' messages go out.
	dying := &dyingQueue{q: f.queue, ok: 3}
	job, err := f.svc.WithWork(dying).StartSnapshot(ctx, usage.StartOptions{}, nil)
	if err == nil || job.ID == "" {
		t.Fatalf("StartSnapshot = %+v, %v; want the job recorded and the error of the lost send", job, err)
	}
	f.drain(t, 2)
	snap, got := f.users(t)
	if snap.ID != job.ID {
		t.Errorf("published %s, want the job's %s", snap.ID, job.ID)
	}
	wantSameUsers(t, f.dir, got)
	p, err := f.svc.SnapJobProgress(ctx, job.ID)
	if err != nil || !p.Published() || p.SegmentsDone != 4 || p.Users < 60 {
		t.Errorf("progress = %+v, %v; want published, 4 of 4 segments, every user", p, err)
	}
}

func TestSplitCheckOfAJobNeverRecorded(t *testing.T) {
	f := newSplitFixture(t, 5, nil)
	if err := f.svc.HandleWork(context.Background(), `{"kind":"snapshot.check","job":"never-recorded"}`, false, nil); err != nil {
		t.Fatal(err)
	}
	if left := f.queue.Take(); len(left) != 0 {
		t.Errorf("a check of an unknown job sent %q", left)
	}
}

func TestSplitCheckResendsOnlyStalledSegments(t *testing.T) {
	f := newSplitFixture(t, 60, nil)
	ctx := context.Background()
	job, err := f.svc.StartSnapshot(ctx, usage.StartOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var check string
	for _, m := range f.queue.Take() {
		if strings.Contains(m, `"snapshot.check"`) {
			check = m
		}
	}
	if check == "" {
		t.Fatal("no check sent by the start")
	}
	// Segment 1 reads a chunk; the others' messages are lost.
	if err := f.svc.HandleWork(ctx, `{"kind":"snapshot.segment","job":"`+job.ID+`","segment":1,"chunk":0}`, false, nil); err != nil {
		t.Fatal(err)
	}
	f.queue.Take()
	if err := f.svc.HandleWork(ctx, check, false, nil); err != nil {
		t.Fatal(err)
	}
	var resent []string
	next := ""
	for _, m := range f.queue.Take() {
		if strings.Contains(m, `"snapshot.check"`) {
			next = m
			continue
		}
		resent = append(resent, m)
	}
	if len(resent) != 3 || strings.Contains(strings.Join(resent, " "), `"segment":1,`) {
		t.Errorf("the check sent %q; want the messages of segments 0, 2 and 3 only", resent)
	}
	if !strings.Contains(next, `"seen":[0,1,0,0]`) {
		t.Errorf("next check = %q, want it to carry the chunks seen", next)
	}
}
