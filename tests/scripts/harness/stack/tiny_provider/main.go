// A provider with no resources: enough for Terraform to install it, start it and read its
// schema (tests/scripts/harness/stack/test_toolchain.py).
package main

import (
	"context"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/resource"
)

type tiny struct{}

func (tiny) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "tiny"
}
func (tiny) Schema(context.Context, provider.SchemaRequest, *provider.SchemaResponse)          {}
func (tiny) Configure(context.Context, provider.ConfigureRequest, *provider.ConfigureResponse) {}
func (tiny) Resources(context.Context) []func() resource.Resource                              { return nil }
func (tiny) DataSources(context.Context) []func() datasource.DataSource                        { return nil }

func main() {
	serve := func() provider.Provider { return tiny{} }
	opts := providerserver.ServeOpts{Address: "registry.terraform.io/example/tiny"}
	if err := providerserver.Serve(context.Background(), serve, opts); err != nil {
		log.Fatal(err)
	}
}
