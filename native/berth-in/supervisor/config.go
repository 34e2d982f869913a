package supervisor

// services.json as the agent writes it: the resolved spec of src/api/spec-resolve.ts plus the
// workspace's user and env. It is checked here too, because a config the supervisor cannot
// run must be refused with a message, never half-applied.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
)

// Config is services.json.
type Config struct {
	Version    int               `json:"version"`
	User       *string           `json:"user"`
	Env        map[string]string `json:"env"`
	Services   []Service         `json:"services"`
	StartWaves [][]string        `json:"startWaves"`
	// hash is configVersion: the first 12 hex of the file's sha256.
	hash string
}

// Service is one ResolvedService.
type Service struct {
	Name        string            `json:"name"`
	Argv        []string          `json:"argv"`
	Env         map[string]string `json:"env"`
	Workdir     *string           `json:"workdir"`
	DependsOn   []Dependency      `json:"dependsOn"`
	Healthcheck *Healthcheck      `json:"healthcheck"`
	Restart     RestartPolicy     `json:"restart"`
	Ports       json.RawMessage   `json:"ports,omitempty"`
}

// Dependency is one depends_on entry.
type Dependency struct {
	Service   string `json:"service"`
	Condition string `json:"condition"`
	Restart   bool   `json:"restart"`
}

// Healthcheck has its timings in milliseconds, as resolved.
type Healthcheck struct {
	Probe           Probe `json:"probe"`
	IntervalMs      int64 `json:"intervalMs"`
	TimeoutMs       int64 `json:"timeoutMs"`
	Retries         int   `json:"retries"`
	StartPeriodMs   int64 `json:"startPeriodMs"`
	StartIntervalMs int64 `json:"startIntervalMs"`
}

// Probe is one of cmd (argv), http (port, path, status) and tcp (port).
type Probe struct {
	Kind   string   `json:"kind"`
	Argv   []string `json:"argv"`
	Port   int      `json:"port"`
	Path   string   `json:"path"`
	Status []int    `json:"status"`
}

// RestartPolicy is no | on-failure | always | unless-stopped, with on-failure's cap.
type RestartPolicy struct {
	Policy     string `json:"policy"`
	MaxRetries *int   `json:"maxRetries"`
}

var serviceName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)

// LoadConfig reads and checks services.json; a missing file is a config with no services.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		sum := sha256.Sum256(nil)
		return &Config{Version: 1, hash: hex.EncodeToString(sum[:])[:12]}, nil
	}
	if err != nil {
		return nil, err
	}
	if len(data) > 4<<20 {
		return nil, fmt.Errorf("%s is over 4 MiB", path)
	}
	var c Config
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("%s is not valid: %v", path, err)
	}
	sum := sha256.Sum256(data)
	c.hash = hex.EncodeToString(sum[:])[:12]
	return &c, c.check()
}

func (c *Config) check() error {
	if c.Version != 1 {
		return fmt.Errorf("services.json version %d is not supported (want 1)", c.Version)
	}
	seen := map[string]bool{}
	for _, s := range c.Services {
		if !serviceName.MatchString(s.Name) {
			return fmt.Errorf("service name %q is not valid", s.Name)
		}
		if seen[s.Name] {
			return fmt.Errorf("service %s appears twice", s.Name)
		}
		seen[s.Name] = true
		if len(s.Argv) == 0 || s.Argv[0] == "" {
			return fmt.Errorf("service %s has no command", s.Name)
		}
		switch s.Restart.Policy {
		case "", "no", "on-failure", "always", "unless-stopped":
		default:
			return fmt.Errorf("service %s: unknown restart policy %q", s.Name, s.Restart.Policy)
		}
		if h := s.Healthcheck; h != nil {
			switch h.Probe.Kind {
			case "cmd":
				if len(h.Probe.Argv) == 0 {
					return fmt.Errorf("service %s: the health check has no command", s.Name)
				}
			case "http", "tcp":
				if h.Probe.Port < 1 || h.Probe.Port > 65535 {
					return fmt.Errorf("service %s: health check port %d is not valid", s.Name, h.Probe.Port)
				}
			default:
				return fmt.Errorf("service %s: unknown health check kind %q", s.Name, h.Probe.Kind)
			}
			if h.IntervalMs <= 0 || h.TimeoutMs <= 0 {
				return fmt.Errorf("service %s: health check interval and timeout must be positive", s.Name)
			}
		}
	}
	for _, s := range c.Services {
		for _, d := range s.DependsOn {
			if !seen[d.Service] {
				return fmt.Errorf("service %s depends on %s, which is not defined", s.Name, d.Service)
			}
			switch d.Condition {
			case "started", "healthy", "completed":
			default:
				return fmt.Errorf("service %s: unknown dependency condition %q", s.Name, d.Condition)
			}
		}
	}
	_, err := c.Waves()
	return err
}

// Waves orders the services in dependency levels (what may start together), computed from
// depends_on rather than trusting startWaves, so a hand-edited file cannot deadlock us.
func (c *Config) Waves() ([][]string, error) {
	level := map[string]int{}
	byName := map[string]Service{}
	for _, s := range c.Services {
		byName[s.Name] = s
	}
	var visit func(name string, path map[string]bool) (int, error)
	visit = func(name string, path map[string]bool) (int, error) {
		if l, ok := level[name]; ok {
			return l, nil
		}
		if path[name] {
			return 0, fmt.Errorf("services depend on each other in a cycle through %s", name)
		}
		path[name] = true
		l := 0
		for _, d := range byName[name].DependsOn {
			dl, err := visit(d.Service, path)
			if err != nil {
				return 0, err
			}
			if dl+1 > l {
				l = dl + 1
			}
		}
		delete(path, name)
		level[name] = l
		return l, nil
	}
	var waves [][]string
	for _, s := range c.Services {
		l, err := visit(s.Name, map[string]bool{})
		if err != nil {
			return nil, err
		}
		for len(waves) <= l {
			waves = append(waves, nil)
		}
		waves[l] = append(waves[l], s.Name)
	}
	return waves, nil
}

// Hash is the config's version as ctl status shows it.
func (c *Config) Hash() string { return c.hash }

// fingerprint tells whether a service must be restarted on reload: its own definition, and
// the user and env every service runs with.
func (c *Config) fingerprint(s Service) string {
	b, _ := json.Marshal(struct {
		S    Service
		User *string
		Env  map[string]string
	}{s, c.User, c.Env})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
