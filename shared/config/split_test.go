package config

import (
	"strings"
	"testing"
)

func TestSplitReadSettings(t *testing.T) {
	base := map[string]string{"AzureWebJobsStorage": "UseDevelopmentStorage=true", "ADMINS": "a@it.example.gov", "MAIL_MODE": "outbox", "CENTRAL_IT_EMAIL": "it@x.example.gov"}
	cfg, err := Load(env(base))
	if err != nil {
		t.Fatal(err)
	}
	if r := cfg.Reporting; r.SnapshotSegments != 16 || r.SnapshotPagesPerChunk != 150 || r.SignInPassDays != 7 {
		t.Errorf("defaults: segments %d, pages %d, pass days %d; want 16, 150, 7", r.SnapshotSegments, r.SnapshotPagesPerChunk, r.SignInPassDays)
	}
	set := map[string]string{"SNAPSHOT_SEGMENTS": "99", "SNAPSHOT_PAGES_PER_CHUNK": "1", "SIGNIN_PASS_DAYS": "90"}
	for k, v := range base {
		set[k] = v
	}
	cfg, err = Load(env(set))
	if err != nil {
		t.Fatal(err)
	}
	if r := cfg.Reporting; r.SnapshotSegments != 99 || r.SnapshotPagesPerChunk != 1 || r.SignInPassDays != 90 {
		t.Errorf("set: segments %d, pages %d, pass days %d; want 99, 1, 90", r.SnapshotSegments, r.SnapshotPagesPerChunk, r.SignInPassDays)
	}
	for _, c := range []struct{ key, value, says string }{
		{"SNAPSHOT_SEGMENTS", "0", "from 1 to 99"},
		{"SNAPSHOT_SEGMENTS", "100", "from 1 to 99"},
		{"SNAPSHOT_PAGES_PER_CHUNK", "1001", "from 1 to 1000"},
		{"SNAPSHOT_PAGES_PER_CHUNK", "many", "from 1 to 1000"},
		{"SIGNIN_PASS_DAYS", "91", "from 1 to 90"},
	} {
		bad := map[string]string{c.key: c.value}
		for k, v := range base {
			bad[k] = v
		}
		_, err := Load(env(bad))
		cerr, ok := err.(*Error)
		if !ok || len(cerr.Problems) != 1 || !strings.Contains(cerr.Problems[0], c.key) || !strings.Contains(cerr.Problems[0], c.says) {
			t.Errorf("%s=%s: err = %v, want one problem naming it and saying %q", c.key, c.value, err, c.says)
		}
	}
}
