// Package restype names the Pulumi resource types the platform registers and
// the policy pack inspects, once for both: the pack's rules, the program's
// tests (internal/mocktest) and the engine tests all use these constants,
// so a provider's renamed type breaks the build, not a silent match.
//
// It lives in the policy module because the pack is built on its own and
// cannot import the program's module, while the program's module already
// requires this one.
package restype

// Provider types.
const (
	DockerProvider     = "pulumi:providers:docker"
	CloudflareProvider = "pulumi:providers:cloudflare"
)

// Docker resources (pulumi-docker v4).
const (
	DockerImage         = "docker:index/image:Image"
	DockerRemoteImage   = "docker:index/remoteImage:RemoteImage"
	DockerRegistryImage = "docker:index/registryImage:RegistryImage"
	DockerContainer     = "docker:index/container:Container"
	DockerNetwork       = "docker:index/network:Network"
	DockerVolume        = "docker:index/volume:Volume"
)

// Cloudflare resources (pulumi-cloudflare v5).
const (
	ZoneSettings        = "cloudflare:index/zoneSettingsOverride:ZoneSettingsOverride"
	Tunnel              = "cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared"
	TunnelConfig        = "cloudflare:index/zeroTrustTunnelCloudflaredConfig:ZeroTrustTunnelCloudflaredConfig"
	Record              = "cloudflare:index/record:Record"
	PagesProject        = "cloudflare:index/pagesProject:PagesProject"
	PagesDomain         = "cloudflare:index/pagesDomain:PagesDomain"
	Healthcheck         = "cloudflare:index/healthcheck:Healthcheck"
	LoadBalancerMonitor = "cloudflare:index/loadBalancerMonitor:LoadBalancerMonitor"
	LoadBalancerPool    = "cloudflare:index/loadBalancerPool:LoadBalancerPool"
	LoadBalancer        = "cloudflare:index/loadBalancer:LoadBalancer"
	R2Bucket            = "cloudflare:index/r2Bucket:R2Bucket"
	NotificationPolicy  = "cloudflare:index/notificationPolicy:NotificationPolicy"
	NotificationWebhook = "cloudflare:index/notificationPolicyWebhooks:NotificationPolicyWebhooks"
	AccessApplication   = "cloudflare:index/zeroTrustAccessApplication:ZeroTrustAccessApplication"
	AccessPolicy        = "cloudflare:index/zeroTrustAccessPolicy:ZeroTrustAccessPolicy"
	AccessServiceToken  = "cloudflare:index/zeroTrustAccessServiceToken:ZeroTrustAccessServiceToken"
	// LegacyAccessApplication is the same resource under its former name,
	// still served by pulumi-cloudflare v5.
	LegacyAccessApplication = "cloudflare:index/accessApplication:AccessApplication"
)

// Random resources (pulumi-random v4).
const (
	RandomPassword = "random:index/randomPassword:RandomPassword"
	RandomID       = "random:index/randomId:RandomId"
)
