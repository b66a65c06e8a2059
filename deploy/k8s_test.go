package deploy

import (
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
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
		Replicas        *int `json:"replicas"`
		MinReadySeconds int  `json:"minReadySeconds"`
		Strategy        struct {
			Type          string `json:"type"`
			RollingUpdate *struct {
				MaxSurge       any `json:"maxSurge"`
				MaxUnavailable any `json:"maxUnavailable"`
			} `json:"rollingUpdate"`
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
				ServiceAccountName            string `json:"serviceAccountName"`
				AutomountServiceAccountToken  *bool  `json:"automountServiceAccountToken"`
				TerminationGracePeriodSeconds *int   `json:"terminationGracePeriodSeconds"`
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
			FieldRef *struct {
				FieldPath string `json:"fieldPath"`
			} `json:"fieldRef"`
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
		ClusterIP                string            `json:"clusterIP"`
		PublishNotReadyAddresses bool              `json:"publishNotReadyAddresses"`
		Selector                 map[string]string `json:"selector"`
		Ports                    []struct {
			Name       string `json:"name"`
			Port       int    `json:"port"`
			TargetPort any    `json:"targetPort"`
		} `json:"ports"`
	} `json:"spec"`
}

type k8sBudget struct {
	k8sObject
	Spec struct {
		MaxUnavailable any `json:"maxUnavailable"`
		MinAvailable   any `json:"minAvailable"`
		Selector       struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"selector"`
	} `json:"spec"`
}

// k8sRBAC is what rbac.yaml's ServiceAccount, Role and RoleBinding say, in one struct:
// each document fills the fields its kind has.
type k8sRBAC struct {
	k8sObject
	Rules []struct {
		APIGroups []string `json:"apiGroups"`
		Resources []string `json:"resources"`
		Verbs     []string `json:"verbs"`
	} `json:"rules"`
	Subjects []struct {
		Kind string `json:"kind"`
		Name string `json:"name"`
	} `json:"subjects"`
	RoleRef struct {
		Kind string `json:"kind"`
		Name string `json:"name"`
	} `json:"roleRef"`
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

// readRBAC reads the documents of rbac.yaml by kind.
func readRBAC(tb testing.TB) map[string]k8sRBAC {
	tb.Helper()
	byKind := map[string]k8sRBAC{}
	for i, doc := range regexp.MustCompile(`(?m)^---$`).Split(repotest.ReadFile(tb, "deploy/k8s/rbac.yaml"), -1) {
		var o k8sRBAC
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			tb.Fatalf("deploy/k8s/rbac.yaml, document %d: %v", i+1, err)
		}
		if _, twice := byKind[o.Kind]; twice {
			tb.Fatalf("deploy/k8s/rbac.yaml: two of kind %q", o.Kind)
		}
		byKind[o.Kind] = o
	}
	return byKind
}

// providerPodCall is a call protoactor's Kubernetes provider makes on the pods API:
// client.CoreV1().Pods(namespace).Verb(…), the namespace perhaps a call itself.
var providerPodCall = regexp.MustCompile(`\.Pods\((?:[^()]|\([^()]*\))*\)\.([A-Z][a-z]+)\(`)

// providerVerbs is the RBAC verbs the Kubernetes provider of the pinned protoactor-go needs
// on pods, read from its source in the module cache, tests left out.
func providerVerbs(tb testing.TB) []string {
	tb.Helper()
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/asynkron/protoactor-go")
	cmd.Dir = repotest.Root(tb)
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("go list -m github.com/asynkron/protoactor-go: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "cluster", "clusterproviders", "k8s")
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("the Kubernetes provider's source in %s: %d files (%v)", dir, len(files), err)
	}
	var verbs []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		for _, m := range providerPodCall.FindAllStringSubmatch(string(src), -1) {
			verbs = append(verbs, strings.ToLower(m[1]))
		}
	}
	slices.Sort(verbs)
	return slices.Compact(verbs)
}

// selects fails unless selector is non-empty and the pod's labels carry every label in it.
func selects(tb testing.TB, what string, selector, pod map[string]string) {
	tb.Helper()
	if len(selector) == 0 {
		tb.Errorf("%s has no selector: it would select every pod", what)
	}
	for k, v := range selector {
		if pod[k] != v {
			tb.Errorf("%s selects %s=%s, which the Deployment's pods do not carry", what, k, v)
		}
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

// TestKubernetesManifests checks the Deployment, the Services, the budget, the RBAC, the
// Secret example and the kustomization against the bot, the image and protoactor's
// Kubernetes provider. A k8s member cannot start outside Kubernetes: the bot runs with the
// Deployment's environment once to see it refuse clearly, then with the provider
// overridden to automanaged, one member, to serve everything else.
func TestKubernetesManifests(t *testing.T) {
	var d k8sDeployment
	var svc k8sService
	var secret k8sSecret
	var members k8sService
	var pdb k8sBudget
	var kust struct {
		Resources []string `json:"resources"`
	}
	readK8s(t, "deployment.yaml", &d)
	readK8s(t, "service.yaml", &svc)
	readK8s(t, "secret.example.yaml", &secret)
	readK8s(t, "kustomization.yaml", &kust)
	readK8s(t, "members.yaml", &members)
	readK8s(t, "pdb.yaml", &pdb)
	im := readImage(t)
	spec := d.Spec.Template.Spec

	if d.Kind != "Deployment" || svc.Kind != "Service" || secret.Kind != "Secret" {
		t.Fatalf("kinds %q %q %q, want Deployment, Service, Secret", d.Kind, svc.Kind, secret.Kind)
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		t.Fatalf("replicas %s, want several: the Deployment runs a cluster, so that one member lost leaves others to share its users", show(d.Spec.Replicas))
	}
	replicas := *d.Spec.Replicas
	// Readiness gates the rollout: a new member must be ready before an old one goes.
	if ru := d.Spec.Strategy.RollingUpdate; d.Spec.Strategy.Type != "RollingUpdate" || ru == nil || fmt.Sprint(ru.MaxUnavailable) != "0" || fmt.Sprint(ru.MaxSurge) == "0" {
		t.Errorf("strategy %+v, want RollingUpdate with maxUnavailable 0 and a maxSurge: no member stops before its successor is ready", d.Spec.Strategy)
	}
	selects(t, "the Deployment", d.Spec.Selector.MatchLabels, d.Spec.Template.Metadata.Labels)
	if g, deadline := spec.TerminationGracePeriodSeconds, stopDeadline(t); g == nil || time.Duration(*g)*time.Second <= deadline {
		t.Errorf("terminationGracePeriodSeconds %s, want more than the bot's %v to stop", show(g), deadline)
	}
	// The Kubernetes provider reads the API with the pod's own token.
	if spec.AutomountServiceAccountToken == nil || !*spec.AutomountServiceAccountToken {
		t.Error("automountServiceAccountToken is not true: the Kubernetes provider uses the pod's service account token (in-cluster config)")
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
		case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil:
			if e.Name != "POD_IP" || e.ValueFrom.FieldRef.FieldPath != "status.podIP" {
				t.Errorf("env %s from the field %s; the bot reads only POD_IP from the downward API, as status.podIP", e.Name, e.ValueFrom.FieldRef.FieldPath)
			}
			// What the kubelet would give: an address of this machine.
			env[e.Name] = "127.0.0.1"
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
	// The cluster: members found through the Kubernetes API, at their pod's IP.
	if env["BOT_CLUSTER"] == "" || env["BOT_CLUSTER_PROVIDER"] != "k8s" || env["POD_IP"] == "" {
		t.Errorf("env BOT_CLUSTER %q BOT_CLUSTER_PROVIDER %q POD_IP %q: want a cluster name, the k8s provider and the pod's IP", env["BOT_CLUSTER"], env["BOT_CLUSTER_PROVIDER"], env["POD_IP"])
	}
	if _, ok := env["BOT_CLUSTER_ADDR"]; ok {
		t.Error("env BOT_CLUSTER_ADDR is set; the bot's default, $POD_IP and the remote port, is the one the container port names")
	}
	checkOutboundShare(t, env, replicas)
	// Outside Kubernetes the k8s provider cannot start: the settings parse (a refused
	// setting exits 2 before any of this) and the bot says, exiting 1, that it cannot join.
	if code, logs := refusal(t, env); code != 1 || !strings.Contains(logs, "cannot join the cluster") || !strings.Contains(logs, "kubernetes provider") {
		t.Errorf("outside Kubernetes the bot exited %d; want 1, saying it cannot join the cluster with the kubernetes provider\n%s", code, logs)
	}
	// Everything else is served as a cluster of one, found by the automanaged provider.
	alone := maps.Clone(env)
	alone["BOT_CLUSTER_PROVIDER"] = "automanaged"
	got := serve(t, alone)
	if host, _, _ := net.SplitHostPort(got.member); host != env["POD_IP"] {
		t.Errorf("the bot joined its cluster at %q, want it on POD_IP %s", got.member, env["POD_IP"])
	}
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
	if port := defaultClusterPort(t); port != strconv.Itoa(ports["remote"]) {
		t.Errorf("the bot's cluster remote is on port %s, the container port named remote is %d", port, ports["remote"])
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
	selects(t, "Service troupe", svc.Spec.Selector, d.Spec.Template.Metadata.Labels)
	if len(svc.Spec.Ports) != 1 {
		t.Fatalf("Service has %d ports, want 1", len(svc.Spec.Ports))
	}
	if tp := fmt.Sprint(svc.Spec.Ports[0].TargetPort); tp != "http" && tp != strconv.Itoa(ports["http"]) {
		t.Errorf("Service targetPort %s is not the bot's port", tp)
	}

	// The headless Service names the members, at their remote port, ready or not.
	if members.Kind != "Service" || members.Spec.ClusterIP != "None" {
		t.Errorf("members.yaml: kind %q clusterIP %q, want a headless Service (clusterIP None)", members.Kind, members.Spec.ClusterIP)
	}
	if !members.Spec.PublishNotReadyAddresses {
		t.Error("members.yaml: publishNotReadyAddresses is not true: a member is reached by the others before it is ready")
	}
	selects(t, "Service "+members.Metadata.Name, members.Spec.Selector, d.Spec.Template.Metadata.Labels)
	if len(members.Spec.Ports) != 1 {
		t.Errorf("members.yaml: %d ports, want the cluster remote's only", len(members.Spec.Ports))
	} else if p := members.Spec.Ports[0]; (fmt.Sprint(p.TargetPort) != "remote" && fmt.Sprint(p.TargetPort) != strconv.Itoa(ports["remote"])) || p.Port != ports["remote"] {
		t.Errorf("members.yaml: port %d targetPort %v, want the cluster remote's, %d", p.Port, p.TargetPort, ports["remote"])
	}

	// The budget lets evictions take one member at a time, never all.
	if pdb.APIVersion != "policy/v1" || pdb.Kind != "PodDisruptionBudget" {
		t.Errorf("pdb.yaml: %s %s, want policy/v1 PodDisruptionBudget", pdb.APIVersion, pdb.Kind)
	}
	selects(t, "PodDisruptionBudget "+pdb.Metadata.Name, pdb.Spec.Selector.MatchLabels, d.Spec.Template.Metadata.Labels)
	if n, err := strconv.Atoi(fmt.Sprint(pdb.Spec.MaxUnavailable)); err != nil || pdb.Spec.MinAvailable != nil || n < 1 || n >= replicas {
		t.Errorf("pdb.yaml: maxUnavailable %v minAvailable %v, want maxUnavailable alone, from 1 to %d of the %d replicas", pdb.Spec.MaxUnavailable, pdb.Spec.MinAvailable, replicas-1, replicas)
	}

	// The RBAC: the pod's service account, bound to a Role with what the provider calls.
	rbac := readRBAC(t)
	sa, role, binding := rbac["ServiceAccount"], rbac["Role"], rbac["RoleBinding"]
	if sa.Metadata.Name == "" || spec.ServiceAccountName != sa.Metadata.Name {
		t.Errorf("serviceAccountName %q, want rbac.yaml's ServiceAccount %q", spec.ServiceAccountName, sa.Metadata.Name)
	}
	if len(binding.Subjects) != 1 || binding.Subjects[0].Kind != "ServiceAccount" || binding.Subjects[0].Name != sa.Metadata.Name ||
		binding.RoleRef.Kind != "Role" || role.Metadata.Name == "" || binding.RoleRef.Name != role.Metadata.Name {
		t.Errorf("RoleBinding subjects %+v roleRef %+v, want the ServiceAccount %q bound to the Role %q", binding.Subjects, binding.RoleRef, sa.Metadata.Name, role.Metadata.Name)
	}
	want := providerVerbs(t)
	if len(want) == 0 {
		t.Fatal("found no pods API call in the Kubernetes provider's source")
	}
	if len(role.Rules) != 1 {
		t.Fatalf("Role has %d rules, want one, for pods", len(role.Rules))
	}
	r := role.Rules[0]
	verbs := slices.Sorted(slices.Values(r.Verbs))
	if !slices.Equal(r.APIGroups, []string{""}) || !slices.Equal(r.Resources, []string{"pods"}) || !slices.Equal(verbs, want) {
		t.Errorf("Role rule %+v, want the core group's pods with exactly the verbs the provider calls, %v", r, want)
	}

	// kubectl apply -k applies all of it, never the example Secret.
	if got, want := slices.Sorted(slices.Values(kust.Resources)), []string{"deployment.yaml", "members.yaml", "pdb.yaml", "rbac.yaml", "service.yaml"}; !slices.Equal(got, want) {
		t.Errorf("kustomization resources %v, want %v", kust.Resources, want)
	}
}
