package deploy_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/grpcbench/grpcbench/scenarios"
)

// manifests holds every object of kubernetes/*.yaml, decoded strictly.
type manifests struct {
	configMaps map[string]*corev1.ConfigMap
	pvcs       map[string]*corev1.PersistentVolumeClaim
	jobs       map[string]*batchv1.Job
}

// load decodes every document of every manifest into its API type,
// refusing unknown or duplicate fields.
func load(t *testing.T) *manifests {
	t.Helper()
	files, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil || len(files) < 4 {
		t.Fatalf("manifests: %v %v", files, err)
	}
	m := &manifests{configMaps: map[string]*corev1.ConfigMap{}, pvcs: map[string]*corev1.PersistentVolumeClaim{}, jobs: map[string]*batchv1.Job{}}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
				t.Fatalf("%s doc %d: %v", f, i, err)
			}
			var obj interface{ GetName() string }
			switch tm.APIVersion + " " + tm.Kind {
			case "v1 ConfigMap":
				obj = &corev1.ConfigMap{}
			case "v1 PersistentVolumeClaim":
				obj = &corev1.PersistentVolumeClaim{}
			case "batch/v1 Job":
				obj = &batchv1.Job{}
			default:
				t.Fatalf("%s doc %d: unexpected %s %s", f, i, tm.APIVersion, tm.Kind)
			}
			if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
				t.Fatalf("%s doc %d (%s): strict decoding: %v", f, i, tm.Kind, err)
			}
			switch o := obj.(type) {
			case *corev1.ConfigMap:
				m.configMaps[o.Name] = o
			case *corev1.PersistentVolumeClaim:
				m.pvcs[o.Name] = o
			case *batchv1.Job:
				m.jobs[o.Name] = o
			}
		}
	}
	return m
}

// flag returns the value after name in args ("" when absent).
func flag(args []string, name string) string {
	if i := slices.Index(args, name); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	return ""
}

// hostPath resolves a path inside container c to (volume name, path in the
// volume), through c's mounts.
func hostPath(t *testing.T, c corev1.Container, p string) (string, string) {
	t.Helper()
	for _, vm := range c.VolumeMounts {
		if rel, ok := strings.CutPrefix(p, strings.TrimSuffix(vm.MountPath, "/")+"/"); ok {
			return vm.Name, rel
		}
	}
	t.Fatalf("container %s: %s is on no mounted volume", c.Name, p)
	return "", ""
}

// volumeSource returns the pod volume named name.
func volumeSource(t *testing.T, spec corev1.PodSpec, name string) corev1.Volume {
	t.Helper()
	for _, v := range spec.Volumes {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("no pod volume %q", name)
	return corev1.Volume{}
}

func TestManifestsWiring(t *testing.T) {
	m := load(t)
	shards, report := m.jobs["grpcbench-shards"], m.jobs["grpcbench-report"]
	if shards == nil || report == nil {
		t.Fatalf("jobs %v", m.jobs)
	}
	n, c := checkIndexedJob(t, shards)
	checkScenario(t, m, shards.Spec.Template.Spec, c, n)
	checkReportJob(t, m, shards.Spec.Template.Spec, c, report, n)
}

// checkIndexedJob checks the shards Job: N = completions = parallelism =
// --shards, the index and start from the environment. It returns N and
// the shard container.
func checkIndexedJob(t *testing.T, shards *batchv1.Job) (int, corev1.Container) {
	t.Helper()
	js := shards.Spec
	if js.CompletionMode == nil || *js.CompletionMode != batchv1.IndexedCompletion || js.Completions == nil || js.Parallelism == nil {
		t.Fatalf("shards job: completionMode %v completions %v parallelism %v", js.CompletionMode, js.Completions, js.Parallelism)
	}
	n := int(*js.Completions)
	if int(*js.Parallelism) != n || n < 2 {
		t.Fatalf("completions %d, parallelism %d: want equal (all shards run at once)", n, *js.Parallelism)
	}
	pod := js.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Containers))
	}
	c := pod.Containers[0]
	if c.Args[0] != "run" || flag(c.Args, "--shards") != strconv.Itoa(n) || slices.Contains(c.Args, "--shard") {
		t.Fatalf("shard args %q: want run … --shards %d (the index from the environment)", c.Args, n)
	}
	// Every $(VAR) in the args is defined in the env; the index comes from
	// the Job's completion-index annotation, the start from a ConfigMap.
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	for _, a := range c.Args {
		for _, v := range regexp.MustCompile(`\$\(([A-Z_]+)\)`).FindAllStringSubmatch(a, -1) {
			if _, ok := env[v[1]]; !ok {
				t.Errorf("arg %q uses $(%s), which the container does not define", a, v[1])
			}
		}
	}
	idx := env["JOB_COMPLETION_INDEX"].ValueFrom
	if idx == nil || idx.FieldRef == nil || idx.FieldRef.FieldPath != "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
		t.Errorf("JOB_COMPLETION_INDEX = %+v", env["JOB_COMPLETION_INDEX"])
	}
	if flag(c.Args, "--start-at") != "$(START_AT)" {
		t.Errorf("--start-at %q, want $(START_AT)", flag(c.Args, "--start-at"))
	}
	if st := env["START_AT"].ValueFrom; st == nil || st.ConfigMapKeyRef == nil || st.ConfigMapKeyRef.Key != "start-at" {
		t.Errorf("START_AT = %+v", env["START_AT"])
	}
	return n, c
}

// checkScenario: the scenario file is the ConfigMap's key, mounted; it is
// valid and splits over N shards.
func checkScenario(t *testing.T, m *manifests, pod corev1.PodSpec, c corev1.Container, n int) {
	t.Helper()
	vol, key := hostPath(t, c, c.Args[1])
	cmName := volumeSource(t, pod, vol).ConfigMap
	if cmName == nil || m.configMaps[cmName.Name] == nil {
		t.Fatalf("scenario volume %s is not a ConfigMap of the manifests", vol)
	}
	src, ok := m.configMaps[cmName.Name].Data[key]
	if !ok {
		t.Fatalf("ConfigMap %s has no key %s", cmName.Name, key)
	}
	sp, err := scenarios.Parse(context.Background(), key, []byte(src))
	if err != nil {
		t.Fatalf("the ConfigMap's scenario: %v", err)
	}
	cells, _ := sp.Expand()
	for i := range n {
		if _, err := scenarios.ShardCells(cells, scenarios.Shard{Index: i, Count: n}); err != nil {
			t.Errorf("shard %d/%d: %v", i, n, err)
		}
	}
}

// checkReportJob: the shards write to the PVC; the report Job merges
// exactly those files from the same PVC, then reports the merged file.
func checkReportJob(t *testing.T, m *manifests, pod corev1.PodSpec, c corev1.Container, report *batchv1.Job, n int) {
	t.Helper()
	out := flag(c.Args, "-o")
	resVol, pattern := hostPath(t, c, out)
	claim := volumeSource(t, pod, resVol).PersistentVolumeClaim
	if claim == nil || m.pvcs[claim.ClaimName] == nil {
		t.Fatalf("results volume %s is not a PVC of the manifests", resVol)
	}
	if !strings.Contains(pattern, "$(JOB_COMPLETION_INDEX)") {
		t.Fatalf("-o %s: each shard needs its own file", out)
	}
	rs := report.Spec.Template.Spec
	if len(rs.InitContainers) != 1 || len(rs.Containers) != 1 {
		t.Fatalf("report job: %d init containers, %d containers", len(rs.InitContainers), len(rs.Containers))
	}
	merge, rep := rs.InitContainers[0], rs.Containers[0]
	if merge.Args[0] != "merge" || rep.Args[0] != "report" {
		t.Fatalf("merge %q, report %q", merge.Args, rep.Args)
	}
	var inputs []string
	for _, a := range merge.Args[1:] {
		if a == "-o" {
			break
		}
		v, p := hostPath(t, merge, a)
		if cl := volumeSource(t, rs, v).PersistentVolumeClaim; cl == nil || cl.ClaimName != claim.ClaimName {
			t.Fatalf("merge input %s is not on PVC %s", a, claim.ClaimName)
		}
		inputs = append(inputs, p)
	}
	var want []string
	for i := range n {
		want = append(want, strings.ReplaceAll(pattern, "$(JOB_COMPLETION_INDEX)", strconv.Itoa(i)))
	}
	if !slices.Equal(inputs, want) {
		t.Errorf("merge reads %v, the shards write %v", inputs, want)
	}
	merged := flag(merge.Args, "-o")
	if rep.Args[1] != merged || flag(rep.Args, "-o") == "" {
		t.Errorf("report %q does not read the merged file %s", rep.Args, merged)
	}
	for _, p := range []string{merged, flag(rep.Args, "-o")} {
		if v, _ := hostPath(t, rep, p); volumeSource(t, rs, v).PersistentVolumeClaim == nil {
			t.Errorf("%s is not on the results PVC", p)
		}
	}
}

func TestManifestsImageAndSecurity(t *testing.T) {
	m := load(t)
	var images []string
	for name, j := range m.jobs {
		spec := j.Spec.Template.Spec
		if spec.RestartPolicy != corev1.RestartPolicyNever {
			t.Errorf("job %s: restartPolicy %q", name, spec.RestartPolicy)
		}
		psc := spec.SecurityContext
		if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser != 65532 {
			t.Errorf("job %s: pod securityContext %+v: want runAsNonRoot, user 65532 (the image's)", name, psc)
		}
		for _, c := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
			images = append(images, c.Image)
			sc := c.SecurityContext
			if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
				t.Errorf("job %s container %s: securityContext %+v", name, c.Name, sc)
			}
			for _, vm := range c.VolumeMounts {
				volumeSource(t, spec, vm.Name)
			}
		}
	}
	slices.Sort(images)
	if images = slices.Compact(images); len(images) != 1 {
		t.Fatalf("images %v: want one image everywhere", images)
	}
	df, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	d := string(df)
	for _, want := range []string{"CGO_ENABLED=0", "FROM gcr.io/distroless/static", "USER 65532:65532", "ENTRYPOINT [\"/grpcbench\"]",
		"-t " + images[0] + " ."} {
		if !strings.Contains(d, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	if n := len(regexp.MustCompile(`(?m)^FROM `).FindAllString(d, -1)); n < 2 {
		t.Errorf("Dockerfile: %d stages, want a multi-stage build", n)
	}
}

// TestStrictDecodingRefusesTypos guards the test itself: a misspelt field
// must fail strict decoding.
func TestStrictDecodingRefusesTypos(t *testing.T) {
	doc := "apiVersion: batch/v1\nkind: Job\nmetadata: {name: x}\nspec:\n  completionMode: Indexed\n  paralelism: 4\n"
	err := yaml.UnmarshalStrict([]byte(doc), &batchv1.Job{})
	if err == nil || !strings.Contains(err.Error(), "paralelism") {
		t.Fatalf("err = %v", err)
	}
}
