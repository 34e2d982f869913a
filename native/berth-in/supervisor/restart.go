package supervisor

// Restart policies (compose's) and the backoff between restarts: 1 s doubling to 30 s, reset
// once a process has run for 60 s, so a crash loop costs little and a rare crash restarts fast.

import "time"

const (
	backoffBase       = time.Second
	backoffCap        = 30 * time.Second
	backoffResetAfter = 60 * time.Second
)

// decide says what follows an exit: stCompleted, stFailed or stBackoff (restart after a delay).
func decide(p RestartPolicy, code int, restartsSoFar int) string {
	switch p.Policy {
	case "always", "unless-stopped":
		return stBackoff
	case "on-failure":
		if code == 0 {
			return stCompleted
		}
		if p.MaxRetries != nil && restartsSoFar >= *p.MaxRetries {
			return stFailed
		}
		return stBackoff
	default: // "no"
		if code == 0 {
			return stCompleted
		}
		return stFailed
	}
}

// backoffDelay is the wait before the step-th restart in a row.
func backoffDelay(step int) time.Duration {
	d := backoffBase
	for i := 0; i < step && d < backoffCap; i++ {
		d *= 2
	}
	if d > backoffCap {
		d = backoffCap
	}
	return d
}
