package e2e

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// imageName is the busybox image every client test loads.
const imageName = "localhost/magawa-e2e/busybox:latest"

// The user the --user checks run as (in the image's /etc/passwd).
const (
	userName = "user"
	userID   = 1000
)

var (
	imageOnce sync.Once
	imagePath string
	imageErr  error
	imageSkip string
)

// busyboxImage returns a docker-archive (docker save's format, which
// `podman load`, `ctr image import` and `docker load` all read) of a
// one-layer image: the host's static busybox as /bin/busybox, a symbolic
// link per applet, /etc/passwd and /etc/group with root and user 1000.
// No registry is involved.
func busyboxImage(t testing.TB) string {
	t.Helper()
	imageOnce.Do(func() {
		bb, err := exec.LookPath("busybox")
		if err != nil {
			imageSkip = "needs busybox (apt-get install busybox-static) to build the test image"
			return
		}
		imagePath, imageErr = writeBusyboxArchive(bb, filepath.Join(workDir, "busybox-image.tar"))
	})
	if imageSkip != "" {
		skip(t, "%s", imageSkip)
	}
	if imageErr != nil {
		t.Fatalf("building the busybox image: %v", imageErr)
	}
	return imagePath
}

func writeBusyboxArchive(busybox, out string) (string, error) {
	bin, err := os.ReadFile(busybox)
	if err != nil {
		return "", err
	}
	if !bytes.HasPrefix(bin, []byte("\x7fELF")) {
		return "", fmt.Errorf("%s is not an ELF binary", busybox)
	}
	list, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		return "", fmt.Errorf("%s --list: %v", busybox, err)
	}
	mtime := time.Unix(1700000000, 0)

	// The layer.
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	dir := func(name string, mode int64, uid int) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, Uid: uid, Gid: uid, ModTime: mtime})
	}
	file := func(name string, mode int64, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: mtime}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	for _, d := range []struct {
		name string
		mode int64
		uid  int
	}{
		{"bin", 0o755, 0}, {"dev", 0o755, 0}, {"etc", 0o755, 0}, {"home", 0o755, 0},
		{"home/" + userName, 0o755, userID}, {"proc", 0o555, 0}, {"root", 0o700, 0},
		{"run", 0o755, 0}, {"sys", 0o555, 0}, {"tmp", 0o1777, 0}, {"var", 0o755, 0},
	} {
		if err := dir(d.name, d.mode, d.uid); err != nil {
			return "", err
		}
	}
	if err := file("bin/busybox", 0o755, bin); err != nil {
		return "", err
	}
	for _, applet := range strings.Fields(string(list)) {
		if applet == "busybox" || strings.Contains(applet, "/") {
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + applet, Linkname: "busybox", Mode: 0o777, ModTime: mtime}); err != nil {
			return "", err
		}
	}
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/bin/sh\n%s:x:%d:%d:%s:/home/%s:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n", userName, userID, userID, userName, userName)
	group := fmt.Sprintf("root:x:0:\n%s:x:%d:\nnogroup:x:65534:\n", userName, userID)
	if err := file("etc/passwd", 0o644, []byte(passwd)); err != nil {
		return "", err
	}
	if err := file("etc/group", 0o644, []byte(group)); err != nil {
		return "", err
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	imageConfig := map[string]any{
		"Env": []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		"Cmd": []string{"sh"},
	}
	return writeImageArchive(out, imageName, layer.Bytes(), imageConfig, "magawa test/e2e: busybox-static", mtime)
}

// writeImageArchive writes a docker-archive (docker save's format) of a
// one-layer amd64 image named repoTag: layer is the layer's tar,
// imageConfig the configuration's "config" (Env, Cmd, Entrypoint, ...),
// createdBy its history's line.
func writeImageArchive(out, repoTag string, layer []byte, imageConfig map[string]any, createdBy string, mtime time.Time) (string, error) {
	layerSum := sha256.Sum256(layer)
	diffID := "sha256:" + hex.EncodeToString(layerSum[:])

	// The image configuration.
	config := map[string]any{
		"architecture": "amd64",
		"os":           "linux",
		"created":      mtime.UTC().Format(time.RFC3339),
		"config":       imageConfig,
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{diffID}},
		"history":      []map[string]any{{"created": mtime.UTC().Format(time.RFC3339), "created_by": createdBy}},
	}
	configJSON, err := json.Marshal(config)
	if err != nil {
		return "", err
	}
	configSum := sha256.Sum256(configJSON)
	configName := hex.EncodeToString(configSum[:]) + ".json"
	layerName := hex.EncodeToString(layerSum[:]) + "/layer.tar"
	manifest, err := json.Marshal([]map[string]any{{
		"Config":   configName,
		"RepoTags": []string{repoTag},
		"Layers":   []string{layerName},
	}})
	if err != nil {
		return "", err
	}

	// The archive.
	f, err := os.Create(out)
	if err != nil {
		return "", err
	}
	defer f.Close()
	aw := tar.NewWriter(f)
	add := func(name string, data []byte) error {
		if err := aw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: mtime}); err != nil {
			return err
		}
		_, err := aw.Write(data)
		return err
	}
	if err := aw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: hex.EncodeToString(layerSum[:]) + "/", Mode: 0o755, ModTime: mtime}); err != nil {
		return "", err
	}
	for _, e := range []struct {
		name string
		data []byte
	}{
		{layerName, layer},
		{hex.EncodeToString(layerSum[:]) + "/VERSION", []byte("1.0")},
		{configName, configJSON},
		{"manifest.json", manifest},
	} {
		if err := add(e.name, e.data); err != nil {
			return "", err
		}
	}
	if err := aw.Close(); err != nil {
		return "", err
	}
	return out, f.Close()
}
