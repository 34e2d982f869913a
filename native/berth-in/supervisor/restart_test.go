package supervisor

import (
	"testing"
	"time"
)

func TestBackoffDoublesToTheCap(t *testing.T) {
	want := []time.Duration{1, 2, 4, 8, 16, 30, 30}
	for step, w := range want {
		if got := backoffDelay(step); got != w*time.Second {
			t.Errorf("step %d: got %s, want %s", step, got, w*time.Second)
		}
	}
}

func TestDecide(t *testing.T) {
	two := 2
	cases := []struct {
		policy   RestartPolicy
		code     int
		restarts int
		want     string
	}{
		{RestartPolicy{Policy: "no"}, 0, 0, stCompleted},
		{RestartPolicy{Policy: "no"}, 1, 0, stFailed},
		{RestartPolicy{Policy: ""}, 1, 0, stFailed},
		{RestartPolicy{Policy: "on-failure"}, 0, 0, stCompleted},
		{RestartPolicy{Policy: "on-failure"}, 1, 99, stBackoff},
		{RestartPolicy{Policy: "on-failure", MaxRetries: &two}, 1, 1, stBackoff},
		{RestartPolicy{Policy: "on-failure", MaxRetries: &two}, 1, 2, stFailed},
		{RestartPolicy{Policy: "always"}, 0, 5, stBackoff},
		{RestartPolicy{Policy: "unless-stopped"}, 3, 5, stBackoff},
	}
	for _, c := range cases {
		if got := decide(c.policy, c.code, c.restarts); got != c.want {
			t.Errorf("%+v code %d after %d: got %s, want %s", c.policy, c.code, c.restarts, got, c.want)
		}
	}
}

func TestWavesFollowDependenciesAndRefuseCycles(t *testing.T) {
	c := &Config{Version: 1, Services: []Service{
		{Name: "api", Argv: []string{"x"}, DependsOn: []Dependency{{Service: "db", Condition: "healthy"}, {Service: "cache", Condition: "started"}}},
		{Name: "db", Argv: []string{"x"}},
		{Name: "cache", Argv: []string{"x"}, DependsOn: []Dependency{{Service: "db", Condition: "started"}}},
	}}
	waves, err := c.Waves()
	if err != nil || len(waves) != 3 || waves[0][0] != "db" || waves[1][0] != "cache" || waves[2][0] != "api" {
		t.Fatalf("got %v %v", waves, err)
	}
	c.Services[1].DependsOn = []Dependency{{Service: "api", Condition: "started"}}
	if _, err := c.Waves(); err == nil {
		t.Fatal("a cycle must be refused")
	}
}
