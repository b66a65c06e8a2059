package deploy

import (
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/troupebot/troupe/internal/repotest"
)

// The parts of the Kubernetes objects the tests read; fields not named here are ignored.
type k8sObject struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	} `json:"metadata"`
}

type k8sDeployment struct {
	k8sObject
	Spec struct {
		Replicas *int `json:"replicas"`
		Strategy struct {
			Type string `json:"type"`
		} `json:"strategy"`
		Selector struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"selector"`
		Template struct {
			Metadata struct {
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
			} `json:"metadata"`
			Spec struct {
				AutomountServiceAccountToken  *bool `json:"automountServiceAccountToken"`
				TerminationGracePeriodSeconds *int  `json:"terminationGracePeriodSeconds"`
				SecurityContext               struct {
					RunAsNonRoot *bool `json:"runAsNonRoot"`
					RunAsUser    *int  `json:"runAsUser"`
				} `json:"securityContext"`
				Containers []k8sContainer `json:"containers"`
			} `json:"spec"`
		} `json:"template"`
	} `json:"spec"`
}

type k8sContainer struct {
	Name  string `json:"name"`
	Image string `json:"image"`
	Ports []struct {
		Name          string `json:"name"`
		ContainerPort int    `json:"containerPort"`
	} `json:"ports"`
	Env []struct {
		Name      string  `json:"name"`
		Value     *string `json:"value"`
		ValueFrom *struct {
			SecretKeyRef *struct {
				Name string `json:"name"`
				Key  string `json:"key"`
			} `json:"secretKeyRef"`
		} `json:"valueFrom"`
	} `json:"env"`
	Resources struct {
		Requests map[string]string `json:"requests"`
		Limits   map[string]string `json:"limits"`
	} `json:"resources"`
	LivenessProbe  *k8sProbe `json:"livenessProbe"`
	ReadinessProbe *k8sProbe `json:"readinessProbe"`
	Security       struct {
		ReadOnlyRootFilesystem   *bool `json:"readOnlyRootFilesystem"`
		AllowPrivilegeEscalation *bool `json:"allowPrivilegeEscalation"`
		RunAsNonRoot             *bool `json:"runAsNonRoot"`
		Capabilities             struct {
			Drop []string `json:"drop"`
		} `json:"capabilities"`
	} `json:"securityContext"`
}

type k8sProbe struct {
	HTTPGet *struct {
		Path string `json:"path"`
		Port any    `json:"port"`
	} `json:"httpGet"`
}

type k8sService struct {
	k8sObject
	Spec struct {
		Selector map[string]string `json:"selector"`
		Ports    []struct {
			Port       int `json:"port"`
			TargetPort any `json:"targetPort"`
		} `json:"ports"`
	} `json:"spec"`
}

type k8sSecret struct {
	k8sObject
	StringData map[string]string `json:"stringData"`
}

func readK8s(tb testing.TB, file string, v any) {
	tb.Helper()
	if err := yaml.Unmarshal([]byte(repotest.ReadFile(tb, filepath.Join("deploy/k8s", file))), v); err != nil {
		tb.Fatalf("deploy/k8s/%s: %v", file, err)
	}
}

// Measured in docs/performance.md (BenchmarkResidentMemory, typical context, the most of
// the three runs; the idle process's RSS as /status shows it): what the Deployment's
// memory must hold for each resident user it lets in.
const (
	residentUserBytes = 2941
	idleProcessBytes  = 30 << 20
)

var quantity = regexp.MustCompile(`^(\d+)(Ki|Mi|Gi|KiB|MiB|GiB|k|M|G|B)?$`)

// bytesOf reads a memory size as Kubernetes (768Mi) or GOMEMLIMIT (600MiB) writes it.
func bytesOf(tb testing.TB, s string) int64 {
	tb.Helper()
	m := quantity.FindStringSubmatch(s)
	if m == nil {
		tb.Fatalf("memory size %q: not understood", s)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	mult := map[string]int64{"": 1, "B": 1, "k": 1e3, "M": 1e6, "G": 1e9, "Ki": 1 << 10, "KiB": 1 << 10, "Mi": 1 << 20, "MiB": 1 << 20, "Gi": 1 << 30, "GiB": 1 << 30}
	return n * mult[m[2]]
}

// TestKubernetesManifests checks the Deployment, Service, Secret example and kustomization
// against the bot and the image.
func TestKubernetesManifests(t *testing.T) {
	var d k8sDeployment
	var svc k8sService
	var secret k8sSecret
	var kust struct {
		Resources []string `json:"resources"`
	}
	readK8s(t, "deployment.yaml", &d)
	readK8s(t, "service.yaml", &svc)
	readK8s(t, "secret.example.yaml", &secret)
	readK8s(t, "kustomization.yaml", &kust)
	im := readImage(t)
	spec := d.Spec.Template.Spec

	if d.Kind != "Deployment" || svc.Kind != "Service" || secret.Kind != "Secret" {
		t.Fatalf("kinds %q %q %q, want Deployment, Service, Secret", d.Kind, svc.Kind, secret.Kind)
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
		t.Errorf("replicas %s, want exactly 1: more is the cluster's work, not one process's", show(d.Spec.Replicas))
	}
	if d.Spec.Strategy.Type != "Recreate" {
		t.Errorf("strategy %q, want Recreate: a rolling update runs two replicas at once", d.Spec.Strategy.Type)
	}
	for k, v := range d.Spec.Selector.MatchLabels {
		if d.Spec.Template.Metadata.Labels[k] != v {
			t.Errorf("selector %s=%s does not match the pod's labels", k, v)
		}
	}
	if g, deadline := spec.TerminationGracePeriodSeconds, stopDeadline(t); g == nil || time.Duration(*g)*time.Second <= deadline {
		t.Errorf("terminationGracePeriodSeconds %s, want more than the bot's %v to stop", show(g), deadline)
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Error("automountServiceAccountToken is not false: the bot needs no API token")
	}
	psc := spec.SecurityContext
	if psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser != im.uid {
		t.Errorf("pod securityContext runAsNonRoot %s runAsUser %s, want true and the image's uid %d", show(psc.RunAsNonRoot), show(psc.RunAsUser), im.uid)
	}
	if len(spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(spec.Containers))
	}
	c := spec.Containers[0]
	sc := c.Security
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("readOnlyRootFilesystem is not true")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation is not false")
	}
	if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Error("container runAsNonRoot is not true")
	}
	if !slices.Equal(sc.Capabilities.Drop, []string{"ALL"}) {
		t.Errorf("capabilities drop %v, want [ALL]", sc.Capabilities.Drop)
	}

	// The environment, with the Secret's values, must be one the bot accepts.
	known := knownEnv(t)
	env := map[string]string{}
	for _, e := range c.Env {
		if !known[e.Name] {
			t.Errorf("env %s is not a variable docs/configuration.md documents", e.Name)
		}
		switch {
		case e.Value != nil:
			if _, secret := secretStandIns[e.Name]; secret {
				t.Errorf("env %s has its value in the manifest; want a secretKeyRef", e.Name)
			}
			env[e.Name] = *e.Value
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			v, ok := secret.StringData[ref.Key]
			if ref.Name != secret.Metadata.Name || !ok {
				t.Errorf("env %s: secret %s key %s is not in secret.example.yaml", e.Name, ref.Name, ref.Key)
			}
			env[e.Name] = v
		default:
			t.Errorf("env %s: neither a value nor a secretKeyRef", e.Name)
		}
	}
	// A real server stands in for the one the Secret names: the bot must start on it.
	if _, ok := env["REDIS_URL"]; !ok {
		t.Error("env: no REDIS_URL: users' contexts would live in the pod's memory, lost on every restart")
	} else {
		env["REDIS_URL"] = storeStandIn(t)
	}
	got := serve(t, env)
	if !got.durable {
		t.Error("the bot did not report a durable store that answers (troupe_store_up 1 and a journal in /metrics)")
	}
	if got.webhook == "" || got.unsignedPost != http.StatusUnauthorized {
		t.Errorf("webhook %q, a POST without the secret answered %d; want webhook mode with a secret (401)", got.webhook, got.unsignedPost)
	}
	ports := map[string]int{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if port := listenPort(t, env); port != strconv.Itoa(ports["http"]) {
		t.Errorf("the bot listens on port %s, the container port named http is %d", port, ports["http"])
	}

	// Prometheus scrapes /metrics where the bot serves it: on the private BOT_OPS_LISTEN
	// port when one is set (and then not on the public one), else on PORT.
	ann := d.Spec.Template.Metadata.Annotations
	if ops, ok := env["BOT_OPS_LISTEN"]; ok {
		_, opsPort, err := net.SplitHostPort(ops)
		if err != nil {
			t.Fatalf("BOT_OPS_LISTEN %q: %v", ops, err)
		}
		if strconv.Itoa(ports["ops"]) != opsPort {
			t.Errorf("BOT_OPS_LISTEN %s, the container port named ops is %d", ops, ports["ops"])
		}
		if ann["prometheus.io/port"] != opsPort {
			t.Errorf("prometheus.io/port %q, want the ops port %s", ann["prometheus.io/port"], opsPort)
		}
		if got.opsMetrics != http.StatusOK || got.publicMetrics != http.StatusNotFound {
			t.Errorf("/metrics answered %d on the ops address and %d on PORT; want 200 and 404", got.opsMetrics, got.publicMetrics)
		}
	} else if ann["prometheus.io/port"] != strconv.Itoa(ports["http"]) || got.publicMetrics != http.StatusOK {
		t.Errorf("prometheus.io/port %q, /metrics on PORT answered %d; want the http port and 200", ann["prometheus.io/port"], got.publicMetrics)
	}
	if ann["prometheus.io/path"] != "/metrics" {
		t.Errorf("prometheus.io/path %q, want /metrics", ann["prometheus.io/path"])
	}

	// Probes: paths the bot serves, on the port it listens on.
	probes := []struct {
		name  string
		p     *k8sProbe
		check func(testing.TB, string, string)
	}{{"livenessProbe", c.LivenessProbe, checkLiveness}, {"readinessProbe", c.ReadinessProbe, checkReadiness}}
	for _, pr := range probes {
		if pr.p == nil || pr.p.HTTPGet == nil {
			t.Errorf("no %s.httpGet", pr.name)
			continue
		}
		pr.check(t, "deployment.yaml "+pr.name, pr.p.HTTPGet.Path)
		if port := fmt.Sprint(pr.p.HTTPGet.Port); port != "http" && port != strconv.Itoa(ports["http"]) {
			t.Errorf("%s port %s is not the bot's", pr.name, port)
		}
	}
	if c.LivenessProbe != nil && c.LivenessProbe.HTTPGet != nil && c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("livenessProbe path %s, want /healthz", c.LivenessProbe.HTTPGet.Path)
	}

	// Memory: the limit holds GOMEMLIMIT, which holds the resident users let in.
	limit := bytesOf(t, c.Resources.Limits["memory"])
	if req := c.Resources.Requests["memory"]; req == "" || bytesOf(t, req) != limit {
		t.Errorf("memory request %q, want it equal to the limit %s", req, c.Resources.Limits["memory"])
	}
	if c.Resources.Requests["cpu"] == "" {
		t.Error("no cpu request")
	}
	if _, ok := c.Resources.Limits["cpu"]; ok {
		t.Error("a cpu limit: throttling stalls the collector and the chart renderers")
	}
	memLimit := bytesOf(t, env["GOMEMLIMIT"])
	if memLimit >= limit {
		t.Errorf("GOMEMLIMIT %s is not below the memory limit %s", env["GOMEMLIMIT"], c.Resources.Limits["memory"])
	}
	// The default -max-resident is sized to the memory of the machine it runs on, which a
	// test cannot see; the Deployment says how many users its memory is for.
	if maxResident, err := strconv.Atoi(env["BOT_MAX_RESIDENT"]); err != nil {
		t.Errorf("BOT_MAX_RESIDENT %q: want the number of resident users the memory limit is for", env["BOT_MAX_RESIDENT"])
	} else if live := int64(maxResident)*residentUserBytes + idleProcessBytes; live > memLimit {
		t.Errorf("%d resident users need about %d MiB, over GOMEMLIMIT %s", maxResident, live>>20, env["GOMEMLIMIT"])
	}

	// The Service reaches the pod's HTTP port.
	for k, v := range svc.Spec.Selector {
		if d.Spec.Template.Metadata.Labels[k] != v {
			t.Errorf("Service selector %s=%s does not match the pod's labels", k, v)
		}
	}
	if len(svc.Spec.Ports) != 1 {
		t.Fatalf("Service has %d ports, want 1", len(svc.Spec.Ports))
	}
	if tp := fmt.Sprint(svc.Spec.Ports[0].TargetPort); tp != "http" && tp != strconv.Itoa(ports["http"]) {
		t.Errorf("Service targetPort %s is not the bot's port", tp)
	}

	// kubectl apply -k applies the Deployment and Service, never the example Secret.
	if !slices.Equal(kust.Resources, []string{"deployment.yaml", "service.yaml"}) {
		t.Errorf("kustomization resources %v, want deployment.yaml and service.yaml", kust.Resources)
	}
}
