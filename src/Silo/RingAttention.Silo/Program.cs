using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RingAttention.Grains.Hosting;
using RingAttention.Silo.Hosting;

// One RingAttention silo. Configuration from appsettings.json, environment (Silo__SiloPort=11112) or arguments
// (--Silo:SiloPort=11112 --Silo:PrimarySiloPort=11111 --RingAttention:MaxJobMemoryBytes=...).
ThreadPoolHeadroom.Ensure();
var builder = Host.CreateApplicationBuilder(args);
var host = builder.Configuration.GetSection(SiloHostOptions.SectionName).Get<SiloHostOptions>() ?? new SiloHostOptions();
var ringSection = builder.Configuration.GetSection(RingAttentionOptions.SectionName);
builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
// Orleans and Polly (placement retries) log every activation at Information; keep our own events readable.
builder.Logging.AddFilter("Orleans", LogLevel.Warning);
builder.Logging.AddFilter("Polly", LogLevel.Warning);
builder.UseOrleans(silo => silo.AddRingAttention(host, options => ringSection.Bind(options)));
await builder.Build().RunAsync();
