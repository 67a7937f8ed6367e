// Command gensdk-dotnet writes the C# SDK of a Pulumi package from its schema, with Pulumi's own
// C# code generator (pkg/v3/codegen/dotnet).
//
//	gensdk-dotnet <schema.json> <output folder>
//
// It is a module of its own, beside ../gensdk, because the generator left pkg/v3 after v3.228.0
// for a module of pulumi-dotnet that the module proxy here refuses: this one pins v3.228.0, the
// newest pkg/v3 served here that still has it, while gensdk stays at the engine's version.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi/pkg/v3/codegen/dotnet" //nolint:staticcheck // see the package comment
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)

const tool = "nexudus-pulumi gensdk-dotnet"

// offlineLogo answers the generator's one HTTP request, for the NuGet package's logo.png (it
// downloads the schema's logoUrl, or else Pulumi's logo), with a plain 64x64 square drawn here:
// neither this machine nor CI reaches a web host. Any other request fails, naming it.
type offlineLogo struct{}

func (offlineLogo) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || !strings.HasSuffix(req.URL.Path, ".png") {
		return nil, fmt.Errorf("the generator asked for %s %s: it runs offline", req.Method, req.URL)
	}
	square := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for x := range 64 {
		for y := range 64 {
			square.Set(x, y, color.RGBA{R: 0x1f, G: 0x6f, B: 0xb5, A: 0xff})
		}
	}
	var body bytes.Buffer
	if err := png.Encode(&body, square); err != nil {
		return nil, err
	}
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": {"image/png"}},
		Body:       io.NopCloser(&body),
		Request:    req,
	}, nil
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: gensdk-dotnet <schema.json> <output folder>")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintf(os.Stderr, "gensdk-dotnet: %v\n", err)
		os.Exit(1)
	}
}

func run(schemaPath, out string) error {
	data, err := os.ReadFile(schemaPath)
	if err != nil {
		return err
	}
	var spec schema.PackageSpec
	if err := json.Unmarshal(data, &spec); err != nil {
		return fmt.Errorf("%s: %w", schemaPath, err)
	}
	// The package refers to no other package, so the loader is never asked for one.
	loader := schema.NewPluginLoader(nil)
	pkg, diags, err := schema.BindSpec(spec, loader, schema.ValidationOptions{})
	if err != nil {
		return err
	}
	if diags.HasErrors() {
		return fmt.Errorf("the schema does not bind: %v", diags)
	}
	http.DefaultTransport = offlineLogo{}
	files, err := dotnet.GeneratePackage(tool, pkg, nil, nil)
	if err != nil {
		return err
	}
	for name, content := range files {
		path := filepath.Join(out, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, content, 0o644); err != nil {
			return err
		}
	}
	return nil
}
