package components

import (
	"fmt"

	"github.com/pulumi/pulumi-cloudflare/sdk/v5/go/cloudflare"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// BackupBucketArgs configure the stack's R2 bucket for database dumps.
type BackupBucketArgs struct {
	AccountID  string
	Bucket     string
	Cloudflare *cloudflare.Provider
	// Protect makes Pulumi refuse to delete the bucket (and its dumps).
	Protect bool
}

// BackupBucket is the Cloudflare R2 bucket that keeps every region's dumps
// off the Docker hosts, so losing a host never loses its backups.
type BackupBucket struct {
	pulumi.ResourceState

	Name pulumi.StringOutput
	// Endpoint is the S3-compatible endpoint of the account's R2.
	Endpoint string
}

// NewBackupBucket creates the bucket.
func NewBackupBucket(ctx *pulumi.Context, name string, args *BackupBucketArgs, opts ...pulumi.ResourceOption) (*BackupBucket, error) {
	b := &BackupBucket{Endpoint: fmt.Sprintf("https://%s.r2.cloudflarestorage.com", args.AccountID)}
	if err := ctx.RegisterComponentResource("helloagents:database:BackupBucket", name, b, opts...); err != nil {
		return nil, err
	}
	bucket, err := cloudflare.NewR2Bucket(ctx, name, &cloudflare.R2BucketArgs{
		AccountId: pulumi.String(args.AccountID),
		Name:      pulumi.String(args.Bucket),
	}, pulumi.Parent(b), pulumi.Provider(args.Cloudflare), pulumi.Protect(args.Protect))
	if err != nil {
		return nil, fmt.Errorf("R2 bucket %s: %w", args.Bucket, err)
	}
	b.Name = bucket.Name
	if err := ctx.RegisterResourceOutputs(b, pulumi.Map{
		"name":     b.Name,
		"endpoint": pulumi.String(b.Endpoint),
	}); err != nil {
		return nil, err
	}
	return b, nil
}
