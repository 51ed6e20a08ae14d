package licensing

import "testing"

func TestStepNames(t *testing.T) {
	if got := StepNames(nil); got != "" {
		t.Errorf("StepNames(nil) = %q", got)
	}
	steps := []Step{{SR: "SR-1", Step: StepValidate}, {SR: "SR-1", Step: StepVerify, Seq: 2}, {SR: "SR-2", Step: StepNotify}}
	if got, want := StepNames(steps), "validate,verify,notify"; got != want {
		t.Errorf("StepNames = %q, want %q", got, want)
	}
}
