package deploy

import (
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/troupebot/troupe/internal/repotest"
)

// renderBlueprint is the part of Render's Blueprint spec the files use. The files are read
// strictly: a misspelt field (Render would ignore it, or refuse the Blueprint) fails here.
// Add a field here when a Blueprint needs one Render's spec has.
type renderBlueprint struct {
	Services []renderService `json:"services"`
}

type renderService struct {
	Type                    string      `json:"type"`
	Name                    string      `json:"name"`
	Runtime                 string      `json:"runtime"`
	DockerfilePath          string      `json:"dockerfilePath"`
	DockerContext           string      `json:"dockerContext"`
	Plan                    string      `json:"plan"`
	Region                  string      `json:"region"`
	NumInstances            *int        `json:"numInstances"`
	HealthCheckPath         string      `json:"healthCheckPath"`
	MaxShutdownDelaySeconds *int        `json:"maxShutdownDelaySeconds"`
	EnvVars                 []renderEnv `json:"envVars"`
}

type renderEnv struct {
	Key           string  `json:"key"`
	Value         *string `json:"value"`
	Sync          *bool   `json:"sync"`
	GenerateValue *bool   `json:"generateValue"`
}

// TestRenderBlueprints checks both Blueprints against the bot and Render's rules.
func TestRenderBlueprints(t *testing.T) {
	deadline := stopDeadline(t)
	known := knownEnv(t)
	regions := []string{"oregon", "ohio", "virginia", "frankfurt", "singapore"}
	tests := []struct {
		file, typ, mode string
	}{
		{"deploy/render.yaml", "web", "webhook"},
		{"deploy/render-polling.yaml", "worker", "polling"},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			var bp renderBlueprint
			if err := yaml.UnmarshalStrict([]byte(repotest.ReadFile(t, tt.file)), &bp); err != nil {
				t.Fatalf("%s: %v", tt.file, err)
			}
			if len(bp.Services) != 1 {
				t.Fatalf("%s: %d services, want 1 (the two modes must not run with one token)", tt.file, len(bp.Services))
			}
			s := bp.Services[0]
			if s.Type != tt.typ || s.Runtime != "docker" || s.Name == "" {
				t.Errorf("service type %q runtime %q name %q, want %s, docker, a name", s.Type, s.Runtime, s.Name, tt.typ)
			}
			if path := filepath.Clean(s.DockerfilePath); path != "deploy/Dockerfile" || filepath.Clean(s.DockerContext) != "." {
				t.Errorf("dockerfilePath %q dockerContext %q, want ./deploy/Dockerfile from the repository root", s.DockerfilePath, s.DockerContext)
			}
			if s.Plan == "" || s.Plan == "free" {
				t.Errorf("plan %q: the free plan stops idle services, and every context with them", s.Plan)
			}
			if !slices.Contains(regions, s.Region) {
				t.Errorf("region %q, want one of %v", s.Region, regions)
			}
			if s.NumInstances == nil || *s.NumInstances != 1 {
				t.Errorf("numInstances %s, want exactly 1: users' contexts live in one process", show(s.NumInstances))
			}
			if s.MaxShutdownDelaySeconds == nil {
				t.Errorf("no maxShutdownDelaySeconds")
			} else if d := time.Duration(*s.MaxShutdownDelaySeconds) * time.Second; d <= deadline || d > 300*time.Second {
				t.Errorf("maxShutdownDelaySeconds %v: want more than the bot's %v to stop, and at most Render's 300 s", d, deadline)
			}

			env := map[string]string{}
			for _, e := range s.EnvVars {
				if !known[e.Key] {
					t.Errorf("envVars: %s is not a variable docs/configuration.md documents", e.Key)
				}
				sources := 0
				for _, set := range []bool{e.Value != nil, e.Sync != nil && !*e.Sync, e.GenerateValue != nil && *e.GenerateValue} {
					if set {
						sources++
					}
				}
				if sources != 1 {
					t.Errorf("envVars: %s has %d sources, want one of value, sync: false, generateValue", e.Key, sources)
				}
				switch {
				case e.Value != nil:
					if _, secret := secretStandIns[e.Key]; secret {
						t.Errorf("envVars: %s has a value in the repository; want sync: false", e.Key)
					}
					env[e.Key] = *e.Value
				case e.GenerateValue != nil:
					if e.Key != "WEBHOOK_SECRET" {
						t.Errorf("envVars: %s: generateValue is for the webhook secret only", e.Key)
					}
					// Render generates base64; the bot, which registers the webhook, turns
					// it into a token Telegram accepts.
					env[e.Key] = "dGhlIHNlY3JldA+/=="
				default:
					v, ok := secretStandIns[e.Key]
					if !ok {
						t.Errorf("envVars: %s is set in the dashboard, but this test has no stand-in for it", e.Key)
					}
					env[e.Key] = v
				}
			}
			if _, ok := env["TELEGRAM_BOT_TOKEN"]; !ok {
				t.Error("envVars: no TELEGRAM_BOT_TOKEN: the bot would start its sandbox")
			}
			if tt.typ == "web" {
				// What Render sets on a web service (and PORT, which serve sets).
				env["RENDER_EXTERNAL_URL"] = "https://" + s.Name + ".onrender.com"
			}
			got := serve(t, env)
			if mode := map[bool]string{true: "webhook", false: "polling"}[got.webhook != ""]; mode != tt.mode {
				t.Errorf("mode %q, want %q", mode, tt.mode)
			}
			switch tt.typ {
			case "web":
				if _, ok := env["WEBHOOK_SECRET"]; !ok {
					t.Error("envVars: no WEBHOOK_SECRET: anyone could post updates to the webhook")
				}
				if got.unsignedPost != http.StatusUnauthorized {
					t.Errorf("a POST to the webhook without the secret answered %d, want 401", got.unsignedPost)
				}
				if want := env["RENDER_EXTERNAL_URL"] + "/webhook"; got.webhook != want {
					t.Errorf("webhook URL %q, want %q", got.webhook, want)
				}
				if s.HealthCheckPath != "/healthz" {
					t.Errorf("healthCheckPath %q, want /healthz", s.HealthCheckPath)
				}
				checkLiveness(t, tt.file, s.HealthCheckPath)
				if u, err := url.Parse(got.webhook); err != nil || status(u.Path, true) != http.StatusNotFound {
					t.Errorf("the webhook path of %s collides with an operator endpoint (%v)", got.webhook, err)
				}
			case "worker":
				if s.HealthCheckPath != "" {
					t.Errorf("healthCheckPath %q on a worker: Render checks only web services", s.HealthCheckPath)
				}
				for _, k := range []string{"WEBHOOK_URL", "WEBHOOK_SECRET", "PORT"} {
					if _, ok := env[k]; ok {
						t.Errorf("envVars: %s on a polling worker, which serves no webhook", k)
					}
				}
			}
		})
	}
}
