package deploy

import (
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
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
	Type string `json:"type"`
	// A Key Value instance's: how it evicts when full, and who may connect from outside.
	MaxmemoryPolicy         string         `json:"maxmemoryPolicy"`
	IPAllowList             *[]renderAllow `json:"ipAllowList"`
	Name                    string         `json:"name"`
	Runtime                 string         `json:"runtime"`
	DockerfilePath          string         `json:"dockerfilePath"`
	DockerContext           string         `json:"dockerContext"`
	Plan                    string         `json:"plan"`
	Region                  string         `json:"region"`
	NumInstances            *int           `json:"numInstances"`
	HealthCheckPath         string         `json:"healthCheckPath"`
	MaxShutdownDelaySeconds *int           `json:"maxShutdownDelaySeconds"`
	EnvVars                 []renderEnv    `json:"envVars"`
}

type renderEnv struct {
	Key           string         `json:"key"`
	Value         *string        `json:"value"`
	Sync          *bool          `json:"sync"`
	GenerateValue *bool          `json:"generateValue"`
	FromService   *renderFromSvc `json:"fromService"`
}

type renderFromSvc struct {
	Type     string `json:"type"`
	Name     string `json:"name"`
	Property string `json:"property"`
}

type renderAllow struct {
	Source      string `json:"source"`
	Description string `json:"description"`
}

// services splits a Blueprint into its bot service and its Key Value instance: exactly one
// of each, since the two modes must not run with one token and the bot keeps its users in
// the store.
func (bp renderBlueprint) services(tb testing.TB) (bot, kv renderService) {
	tb.Helper()
	var bots, kvs []renderService
	for _, s := range bp.Services {
		if s.Type == "keyvalue" {
			kvs = append(kvs, s)
		} else {
			bots = append(bots, s)
		}
	}
	if len(bots) != 1 || len(kvs) != 1 {
		tb.Fatalf("%d services and %d Key Value instances, want 1 and 1", len(bots), len(kvs))
	}
	return bots[0], kvs[0]
}

// checkKeyValue fails unless kv keeps what the bot stores in it: a plan that persists, no
// eviction, in the bot's region, closed to the internet.
func checkKeyValue(tb testing.TB, kv renderService, region string) {
	tb.Helper()
	if kv.Name == "" || kv.Runtime != "" || len(kv.EnvVars) > 0 {
		tb.Errorf("Key Value %q: a name, and no runtime or envVars (it is not a service of ours)", kv.Name)
	}
	if kv.Plan == "" || kv.Plan == "free" {
		tb.Errorf("Key Value plan %q: free instances keep no data on disk, so a restart of the instance loses every user", kv.Plan)
	}
	if kv.MaxmemoryPolicy != "noeviction" {
		tb.Errorf("Key Value maxmemoryPolicy %q, want noeviction: an evicted key is a user's context or a journaled update", kv.MaxmemoryPolicy)
	}
	if kv.Region != region {
		tb.Errorf("Key Value region %q, want the bot's %q: the private network reaches only its own region", kv.Region, region)
	}
	if kv.IPAllowList == nil || len(*kv.IPAllowList) > 0 {
		tb.Errorf("Key Value ipAllowList %v, want [] (set, empty): only Render's private network may connect", kv.IPAllowList)
	}
}

// renderReservedPorts are ports Render keeps from private network traffic.
var renderReservedPorts = []string{"10000", "18012", "18013", "19099"}

// checkRenderCluster fails unless env makes each of n instances a member of one cluster
// that the dns provider finds on Render's private network, with the outbound limit split
// among them.
func checkRenderCluster(tb testing.TB, env map[string]string, n int) {
	tb.Helper()
	if env["BOT_CLUSTER"] == "" {
		tb.Error("envVars: no BOT_CLUSTER: several instances would each run their own users")
	}
	if p, ok := env["BOT_CLUSTER_PROVIDER"]; ok && p != "dns" {
		tb.Errorf("envVars: BOT_CLUSTER_PROVIDER %q; Render has no Kubernetes API, and its instances' addresses are known only by RENDER_DISCOVERY_SERVICE: dns", p)
	}
	if _, ok := env["BOT_CLUSTER_PEERS"]; ok {
		tb.Error("envVars: BOT_CLUSTER_PEERS is set; the bot's default is RENDER_DISCOVERY_SERVICE, the name Render gives every instance")
	}
	addr, ok := env["BOT_CLUSTER_ADDR"]
	if !ok {
		addr = flagDefault(tb, "cluster-addr")
	}
	host, remote, err := net.SplitHostPort(addr)
	if err != nil || host != "" {
		tb.Errorf("BOT_CLUSTER_ADDR %q: want a port only: an instance's address changes with every deploy, and the dns provider finds it (%v)", addr, err)
	}
	manage, ok := env["BOT_CLUSTER_MANAGE_PORT"]
	if !ok {
		manage = flagDefault(tb, "cluster-manage-port")
	}
	taken := []string{env["PORT"]}
	if ops, ok := env["BOT_OPS_LISTEN"]; ok {
		taken = append(taken, portOf(tb, ops))
	}
	for _, p := range []string{remote, manage} {
		if slices.Contains(renderReservedPorts, p) || slices.Contains(taken, p) {
			tb.Errorf("cluster port %s: Render keeps %v from the private network, and PORT and BOT_OPS_LISTEN are taken", p, renderReservedPorts)
		}
	}
	checkOutboundShare(tb, env, n)
}

// TestRenderBlueprints checks both Blueprints against the bot and Render's rules.
func TestRenderBlueprints(t *testing.T) {
	deadline := stopDeadline(t)
	known := knownEnv(t)
	regions := []string{"oregon", "ohio", "virginia", "frankfurt", "singapore"}
	// cluster: the service runs several instances as one cluster. Render's workers
	// cannot receive private network traffic, so only a web service can be one.
	tests := []struct {
		file, typ, mode string
		cluster         bool
	}{
		{"deploy/render.yaml", "web", "webhook", true},
		{"deploy/render-polling.yaml", "worker", "polling", false},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			var bp renderBlueprint
			if err := yaml.UnmarshalStrict([]byte(repotest.ReadFile(t, tt.file)), &bp); err != nil {
				t.Fatalf("%s: %v", tt.file, err)
			}
			s, kv := bp.services(t)
			checkKeyValue(t, kv, s.Region)
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
			switch {
			case s.NumInstances == nil:
				t.Fatal("no numInstances")
			case tt.cluster && *s.NumInstances < 2:
				t.Errorf("numInstances %d, want several: one instance lost should leave others to share its users", *s.NumInstances)
			case !tt.cluster && *s.NumInstances != 1:
				t.Errorf("numInstances %d, want 1: a worker cannot receive its peers' forwards, so several would not be one cluster", *s.NumInstances)
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
				for _, set := range []bool{e.Value != nil, e.Sync != nil && !*e.Sync, e.GenerateValue != nil && *e.GenerateValue, e.FromService != nil} {
					if set {
						sources++
					}
				}
				if sources != 1 {
					t.Errorf("envVars: %s has %d sources, want one of value, sync: false, generateValue, fromService", e.Key, sources)
				}
				switch {
				case e.FromService != nil:
					if f := *e.FromService; e.Key != "REDIS_URL" || f.Type != "keyvalue" || f.Name != kv.Name || f.Property != "connectionString" {
						t.Errorf("envVars: %s fromService %+v, want REDIS_URL from the Key Value %q's connectionString", e.Key, f, kv.Name)
					}
					// A real server stands in for the Key Value instance: the bot must
					// start on it and commit to it.
					env[e.Key] = storeStandIn(t)
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
			if _, ok := env["REDIS_URL"]; !ok {
				t.Error("envVars: no REDIS_URL: users' contexts would live in the process's memory, lost on every redeploy")
			}
			if tt.typ == "web" {
				// What Render sets on a web service (and PORT, which serve sets).
				env["RENDER_EXTERNAL_URL"] = "https://" + s.Name + ".onrender.com"
			}
			if tt.cluster {
				checkRenderCluster(t, env, *s.NumInstances)
				// What Render sets on a service with several instances: a name resolving to
				// each instance's private address. An address of this machine stands in
				// for it (a literal resolves to itself, and to nothing else).
				env["RENDER_DISCOVERY_SERVICE"] = "127.0.0.1"
			} else if _, ok := env["BOT_CLUSTER"]; ok {
				t.Error("envVars: BOT_CLUSTER on a worker, which cannot receive the other members' forwards")
			}
			got := serve(t, env)
			if tt.cluster && (got.provider != "dns" || !strings.HasPrefix(got.member, env["RENDER_DISCOVERY_SERVICE"]+":")) {
				t.Errorf("the bot joined its cluster at %q with provider %q; want dns, at the address RENDER_DISCOVERY_SERVICE resolved to", got.member, got.provider)
			}
			if !got.durable {
				t.Error("the bot did not report a durable store that answers (troupe_store_up 1 and a journal in /metrics)")
			}
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
