using System.Text.Json;
using System.Text.RegularExpressions;
using ChatCluster.Silo;
using ChatCluster.Silo.Commands;
using ChatCluster.Silo.Hosting;
using k8s;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Hosting.Kubernetes;
using Xunit.Abstractions;
using YamlDotNet.RepresentationModel;

namespace ChatCluster.Tests.Deploy;

/// <summary>
/// deploy/kubernetes as a cluster would receive it: the base and the GPU overlay rendered by kustomize, every
/// object validated offline by both schema validators (kubernetes-models for types and required fields,
/// KubernetesClient's strict load for unknown fields), and the properties the silo depends on checked against
/// the silo's own code: its command-line parser, its cluster options and Orleans' Kubernetes hosting. The silos
/// are split in two Deployments of one Orleans cluster: chatcluster-front (--role front: the API, autoscaled,
/// behind the Service) and chatcluster-inference (--role inference: the engines, the GPUs in the overlay).
/// </summary>
public sealed partial class KubernetesManifestTests(RenderedKubernetesManifests manifests, ITestOutputHelper output)
    : IClassFixture<RenderedKubernetesManifests>
{
    private const string SiloName = "chatcluster-silo";
    private const string FrontName = "chatcluster-front";
    private const string InferenceName = "chatcluster-inference";

    [Fact]
    public void Base_and_gpu_overlay_pass_both_validators()
    {
        foreach (var (name, yaml) in manifests.All)
        {
            var objects = LoadStrict(yaml);
            Assert.True(objects.Count >= 14, $"{name} rendered only {objects.Count} objects");
            Assert.Equal(new[] { FrontName, InferenceName }, objects.OfType<V1Deployment>().Select(d => d.Metadata.Name).Order());
            var report = ManifestTools.KubernetesModels(manifests.WriteTemp(name, yaml)).Single();
            Assert.True(report.Failures.Count == 0, $"kubernetes-models rejects {name}: {string.Join("; ", report.Failures)}");
            Assert.Equal(objects.Count, report.Objects);
            output.WriteLine($"{name}: {objects.Count} objects pass kubernetes-models and KubernetesClient (strict)");
        }
    }

    [Fact]
    public void Broken_deployments_are_each_rejected_by_the_pair_of_validators()
    {
        var deployment = Document(manifests.Base, "Deployment", FrontName);
        // The first three are mistakes only one of the two validators sees (which is why both run); the last, both.
        var misspelled = Mutate(deployment, "terminationGracePeriodSeconds: 20", "terminationGracePeriodSecond: 20");
        var quotedNumber = Mutate(deployment, "containerPort: 8080", "containerPort: \"8080\"");
        var unnamedContainer = Mutate(deployment, "\n        name: silo\n", "\n");
        var wrongType = Mutate(deployment, "terminationGracePeriodSeconds: 20", "terminationGracePeriodSeconds: [20]");
        string[] broken = [misspelled, quotedNumber, unnamedContainer, wrongType];

        var files = broken.Select((yaml, i) => manifests.WriteTemp($"broken-{i}", yaml)).ToArray();
        var models = ManifestTools.KubernetesModels(files);
        var strict = broken.Select(StrictLoadError).ToArray();
        for (var i = 0; i < broken.Length; i++)
        {
            output.WriteLine($"broken {i}: kubernetes-models: {string.Join("; ", models[i].Failures)} | KubernetesClient: {strict[i]}");
            Assert.True(models[i].Failures.Count > 0 || strict[i] is not null, $"broken copy {i} passes both validators");
        }

        Assert.NotNull(strict[0]);                 // unknown field: only a strict load sees it
        Assert.NotEmpty(models[1].Failures);       // a string where the schema wants an integer
        Assert.NotEmpty(models[2].Failures);       // a required field missing
        Assert.NotNull(strict[3]);                 // a list where a number belongs
    }

    [Theory]
    [InlineData(FrontName, SiloRole.Front)]
    [InlineData(InferenceName, SiloRole.Inference)]
    public void The_silo_pods_run_orleans_kubernetes_hosting_on_redis(string name, SiloRole role)
    {
        var deployment = Deployment(manifests.Base, name);
        var pod = deployment.Spec.Template;
        var container = pod.Spec.Containers.Single();
        var options = ServeCommand.Parse([.. container.Args]);
        Assert.Equal(role, options.Role);

        Assert.True(options.Kubernetes, "--kubernetes is not passed");
        Assert.Equal("http://0.0.0.0:8080", options.Urls);
        Assert.Equal("redis:6379", options.Redis);

        // Orleans' Kubernetes hosting names the silo and advertises its address from the downward API.
        var fieldRefs = container.Env.Where(e => e.ValueFrom?.FieldRef is not null).ToDictionary(e => e.Name, e => e.ValueFrom.FieldRef.FieldPath);
        Assert.Equal("metadata.name", fieldRefs.GetValueOrDefault(KubernetesHostingOptions.PodNameEnvironmentVariable));
        Assert.Equal("metadata.namespace", fieldRefs.GetValueOrDefault(KubernetesHostingOptions.PodNamespaceEnvironmentVariable));
        Assert.Equal("status.podIP", fieldRefs.GetValueOrDefault(KubernetesHostingOptions.PodIPEnvironmentVariable));
        // It lists and watches pods by these labels: they must name the silo's own service and cluster.
        Assert.Equal(ClusterConfiguration.ServiceId, pod.Metadata.Labels[KubernetesHostingOptions.ServiceIdLabel]);
        Assert.Equal(options.ClusterId, pod.Metadata.Labels[KubernetesHostingOptions.ClusterIdLabel]);
        Assert.DoesNotContain(container.Env, e => e.Name is KubernetesHostingOptions.ClusterIdEnvironmentVariable or KubernetesHostingOptions.ServiceIdEnvironmentVariable);

        var ports = container.Ports.ToDictionary(p => p.Name, p => p.ContainerPort);
        Assert.Equal(new Uri(options.Urls).Port, ports["http"]);
        Assert.Equal(options.SiloPort, ports["silo"]);
        Assert.Equal(options.GatewayPort, ports["gateway"]);
        foreach (var (kind, probe) in new[] { ("startup", container.StartupProbe), ("readiness", container.ReadinessProbe), ("liveness", container.LivenessProbe) })
        {
            Assert.True(probe?.HttpGet is not null, $"no {kind} probe over HTTP");
            // Liveness asks only whether the process serves: a front without engines is unready, not dead.
            Assert.Equal(kind == "liveness" ? "/livez" : "/healthz", probe.HttpGet.Path);
            Assert.Equal(new Uri(options.Urls).Port, ports[probe.HttpGet.Port.Value]);
        }

        if (role == SiloRole.Front)
        {
            // The API keys come from the mounted Secret; a missing Secret must stop the pod, not open the API.
            var mount = container.VolumeMounts.Single(m => options.KeysFile!.StartsWith(m.MountPath + "/", StringComparison.Ordinal));
            var secret = pod.Spec.Volumes.Single(v => v.Name == mount.Name).Secret;
            Assert.NotNull(secret);
            Assert.False(secret.Optional ?? false);
            Assert.False(options.DashboardOn, "a front's dashboard would cost a third of its memory");
            // Sized for a node without a model (~140 MB idle, up to ~300 MB busy).
            Assert.InRange(container.Resources.Requests["memory"].ToDecimal(), 150m * 1024 * 1024, 300m * 1024 * 1024);
            Assert.InRange(container.Resources.Limits["memory"].ToDecimal(), 300m * 1024 * 1024, 512m * 1024 * 1024);
        }
        else
        {
            // The inference silo serves no API: no keys to read (nor a Secret it would wait for).
            Assert.Null(options.KeysFile);
            Assert.DoesNotContain(pod.Spec.Volumes, v => v.Secret is not null);
            Assert.NotNull(deployment.Spec.Replicas); // no autoscaler owns its count
        }

        Assert.Equal(SiloName, pod.Spec.ServiceAccountName);
        Assert.True(pod.Spec.SecurityContext.RunAsNonRoot);
        Assert.True(container.SecurityContext.ReadOnlyRootFilesystem);
        Assert.False(container.SecurityContext.AllowPrivilegeEscalation);
        Assert.Contains("ALL", container.SecurityContext.Capabilities.Drop);
        Assert.Contains(container.VolumeMounts, m => m.MountPath == "/tmp");
        Assert.NotNull(container.Lifecycle?.PreStop?.Sleep);
        // SIGTERM comes after preStop; the silo ends within --drain-seconds + 5 s whatever Redis does (an inference
        // silo lets its running generations finish for --drain-seconds).
        var bound = options.DrainSeconds + (int)ChatCluster.Silo.Hosting.ShutdownBound.AfterDrain.TotalSeconds;
        Assert.True(pod.Spec.TerminationGracePeriodSeconds >= container.Lifecycle.PreStop.Sleep.Seconds + bound,
            $"{name}: a grace period of {pod.Spec.TerminationGracePeriodSeconds} s leaves no time for the preStop sleep and the silo's {bound} s shutdown bound");
        Assert.True(container.Resources.Requests.ContainsKey("cpu"), "the CPU autoscaler needs a CPU request");
        Assert.True(container.Resources.Limits.ContainsKey("memory"));
        Assert.DoesNotContain("nvidia.com/gpu", container.Resources.Limits.Keys);
        Assert.Equal("cpu", options.Device);
    }

    [Fact]
    public void Front_and_inference_silos_form_one_orleans_cluster_in_both_renderings()
    {
        foreach (var (name, yaml) in manifests.All)
        {
            var front = Deployment(yaml, FrontName);
            var inference = Deployment(yaml, InferenceName);
            var f = ServeCommand.Parse([.. front.Spec.Template.Spec.Containers.Single().Args]);
            var i = ServeCommand.Parse([.. inference.Spec.Template.Spec.Containers.Single().Args]);
            Assert.Equal((SiloRole.Front, SiloRole.Inference), (f.Role, i.Role));
            // One cluster: the same Redis, cluster id, model and silo port, and the same orleans/* labels.
            Assert.Equal((f.Redis, f.ClusterId, f.Model, f.SiloPort, f.Kubernetes), (i.Redis, i.ClusterId, i.Model, i.SiloPort, i.Kubernetes));
            foreach (var label in new[] { KubernetesHostingOptions.ServiceIdLabel, KubernetesHostingOptions.ClusterIdLabel })
            {
                Assert.Equal(front.Spec.Template.Metadata.Labels[label], inference.Spec.Template.Metadata.Labels[label]);
            }

            Assert.Equal(f.ClusterId, front.Spec.Template.Metadata.Labels[KubernetesHostingOptions.ClusterIdLabel]);
            Assert.Equal(SiloName, front.Spec.Template.Spec.ServiceAccountName);
            Assert.Equal(SiloName, inference.Spec.Template.Spec.ServiceAccountName);
            // Each Deployment owns only its own pods.
            Assert.True(Selects(front.Spec.Selector.MatchLabels, front.Spec.Template.Metadata.Labels));
            Assert.False(Selects(front.Spec.Selector.MatchLabels, inference.Spec.Template.Metadata.Labels), $"{name}: the front Deployment selects inference pods");
            Assert.False(Selects(inference.Spec.Selector.MatchLabels, front.Spec.Template.Metadata.Labels), $"{name}: the inference Deployment selects front pods");
            // The inference pods drain on SIGTERM: the grace period covers preStop, --drain-seconds and the 5 s after.
            Assert.True(inference.Spec.Template.Spec.TerminationGracePeriodSeconds >= 15);
            output.WriteLine($"{name}: front and inference in cluster {f.ClusterId} on {f.Redis}");
        }
    }

    [Fact]
    public void The_role_grants_exactly_the_pod_verbs_the_silos_kubernetes_hosting_uses()
    {
        // What KubernetesClusterAgent calls: read and patch its own pod's orleans/* labels, list and watch the
        // cluster's pods; delete pods of dead silos only when DeleteDefunctSiloPods is on. The silo's own
        // configuration decides that, so the expectation follows the code.
        var hosting = SiloKubernetesHostingOptions();
        string[] needed = hosting.DeleteDefunctSiloPods ? ["delete", "get", "list", "patch", "watch"] : ["get", "list", "patch", "watch"];

        var objects = LoadStrict(manifests.Base);
        var role = objects.OfType<V1Role>().Single(r => r.Metadata.Name == SiloName);
        var rule = Assert.Single(role.Rules);
        Assert.Equal(new[] { "" }, rule.ApiGroups);
        Assert.Equal(new[] { "pods" }, rule.Resources);
        Assert.Equal(needed, rule.Verbs.Order());
        Assert.Null(rule.ResourceNames);

        var binding = objects.OfType<V1RoleBinding>().Single(b => b.RoleRef.Name == SiloName);
        Assert.Equal("Role", binding.RoleRef.Kind);
        var subject = Assert.Single(binding.Subjects);
        Assert.Equal(("ServiceAccount", SiloName), (subject.Kind, subject.Name));
        Assert.Equal(role.Metadata.NamespaceProperty, subject.NamespaceProperty);
        Assert.Contains(objects.OfType<V1ServiceAccount>(), a => a.Metadata.Name == SiloName);
        Assert.Empty(objects.OfType<V1ClusterRole>());
    }

    [Fact]
    public void The_gpu_overlay_gives_each_inference_silo_one_gpu_and_runs_the_engine_on_cuda()
    {
        var cpu = Deployment(manifests.Base, InferenceName).Spec.Template;
        var gpu = Deployment(manifests.Gpu, InferenceName).Spec.Template;
        var container = gpu.Spec.Containers.Single();
        var options = ServeCommand.Parse([.. container.Args]);

        Assert.Equal(SiloRole.Inference, options.Role);
        Assert.Equal("cuda", options.Device);
        Assert.Equal("cpu", ServeCommand.Parse([.. cpu.Spec.Containers.Single().Args]).Device);
        Assert.True(options.Kubernetes);
        Assert.Equal("redis:6379", options.Redis);
        Assert.Equal(1m, container.Resources.Limits["nvidia.com/gpu"].ToDecimal());
        // The CPU image's ONNX Runtime refuses --device cuda: the overlay must switch the image too.
        Assert.NotEqual(cpu.Spec.Containers.Single().Image, container.Image);
        Assert.EndsWith(":gpu", container.Image);
        Assert.Contains(gpu.Spec.Tolerations, t => t.Key == "nvidia.com/gpu" && t.Effect == "NoSchedule");
        Assert.NotEmpty(gpu.Spec.NodeSelector);
        Assert.Equal(cpu.Metadata.Labels, gpu.Metadata.Labels);
        // Every other argument as in the base: only --device changes.
        Assert.Equal(cpu.Spec.Containers.Single().Args.Count, container.Args.Count);
        // Every GPU taken: a rollout must not wait for a surge pod's GPU.
        Assert.Equal("0", Deployment(manifests.Gpu, InferenceName).Spec.Strategy.RollingUpdate.MaxSurge.Value);

        // The front loads no model: the overlay leaves it exactly as in the base (CPU image, no GPU, CPU nodes).
        var frontCpu = Deployment(manifests.Base, FrontName);
        var frontGpu = Deployment(manifests.Gpu, FrontName);
        Assert.Equal(KubernetesYaml.Serialize(frontCpu), KubernetesYaml.Serialize(frontGpu));
        Assert.EndsWith(":cpu", frontGpu.Spec.Template.Spec.Containers.Single().Image);
        Assert.DoesNotContain("nvidia.com/gpu", frontGpu.Spec.Template.Spec.Containers.Single().Resources.Limits.Keys);
        Assert.Null(frontGpu.Spec.Template.Spec.NodeSelector);

        // The base asks for no GPU anywhere.
        Assert.DoesNotContain("nvidia.com/gpu", manifests.Base, StringComparison.Ordinal);
    }

    [Fact]
    public void Redis_keeps_an_fsynced_append_only_file_on_a_persistent_volume()
    {
        var objects = LoadStrict(manifests.Base);
        var redis = objects.OfType<V1StatefulSet>().Single(s => s.Metadata.Name == "redis");
        var container = redis.Spec.Template.Spec.Containers.Single();
        var args = container.Args;
        Assert.Equal("yes", ArgAfter(args, "--appendonly"));
        Assert.Equal("always", ArgAfter(args, "--appendfsync"));
        var claim = redis.Spec.VolumeClaimTemplates.Single();
        Assert.Equal(ArgAfter(args, "--dir"), container.VolumeMounts.Single(m => m.Name == claim.Metadata.Name).MountPath);
        Assert.Contains(objects.OfType<V1Service>(), s => s.Metadata.Name == redis.Spec.ServiceName && s.Spec.ClusterIP == "None");

        // Both kinds of silo: their --redis names a Service that selects the Redis pod on its port, and the
        // network policy lets them in (membership is in Redis: a silo that cannot reach it is no cluster member).
        var policy = objects.OfType<V1NetworkPolicy>().Single(p => Selects(p.Spec.PodSelector.MatchLabels, redis.Spec.Template.Metadata.Labels));
        var from = policy.Spec.Ingress.Single().FromProperty.Single().PodSelector.MatchLabels;
        foreach (var deployment in objects.OfType<V1Deployment>())
        {
            var silo = ServeCommand.Parse([.. deployment.Spec.Template.Spec.Containers.Single().Args]);
            var (host, port) = (silo.Redis!.Split(':')[0], int.Parse(silo.Redis.Split(':')[1]));
            var service = objects.OfType<V1Service>().Single(s => s.Metadata.Name == host);
            Assert.True(Selects(service.Spec.Selector, redis.Spec.Template.Metadata.Labels));
            Assert.Contains(service.Spec.Ports, p => p.Port == port && container.Ports.Any(c => c.Name == p.TargetPort.Value));
            Assert.True(Selects(from, deployment.Spec.Template.Metadata.Labels), $"{deployment.Metadata.Name} may not reach Redis");
        }
    }

    [Fact]
    public void The_service_and_autoscaler_target_the_fronts_and_each_deployment_has_its_disruption_budget()
    {
        foreach (var (name, yaml) in manifests.All)
        {
            var objects = LoadStrict(yaml);
            var front = Deployment(yaml, FrontName);
            var inference = Deployment(yaml, InferenceName);
            var frontLabels = front.Spec.Template.Metadata.Labels;
            var inferenceLabels = inference.Spec.Template.Metadata.Labels;

            // The API's Service: front pods only (an inference silo has no /v1 and would answer 404).
            var service = Assert.Single(objects.OfType<V1Service>(), s => s.Metadata.Name == "chatcluster");
            Assert.True(Selects(service.Spec.Selector, frontLabels), $"{name}: the Service selects no front pod");
            Assert.False(Selects(service.Spec.Selector, inferenceLabels), $"{name}: the Service selects inference pods");
            Assert.Equal("http", service.Spec.Ports.Single().TargetPort.Value);
            Assert.DoesNotContain(objects.OfType<V1Service>(), s => Selects(s.Spec.Selector, inferenceLabels));

            // The autoscaler: the fronts only; the inference count is fixed (replicas), the fronts' is the autoscaler's.
            var hpa = Assert.Single(objects.OfType<V2HorizontalPodAutoscaler>());
            Assert.Equal(("apps/v1", "Deployment", FrontName), (hpa.Spec.ScaleTargetRef.ApiVersion, hpa.Spec.ScaleTargetRef.Kind, hpa.Spec.ScaleTargetRef.Name));
            Assert.Contains(hpa.Spec.Metrics, m => m.Type == "Resource" && m.Resource.Name == "cpu" && m.Resource.Target.AverageUtilization > 0);
            Assert.True(hpa.Spec.MinReplicas >= 2, $"{name}: one front's loss would leave none");
            Assert.Null(front.Spec.Replicas); // a fixed replicas would reset the autoscaler's count on every apply
            Assert.True(inference.Spec.Replicas >= 2, $"{name}: one inference silo's loss would leave no engine");
            Assert.NotNull(front.Spec.Template.Spec.Containers.Single().Resources.Requests["cpu"]); // the autoscaler's base

            // One disruption budget per Deployment, each selecting only its own pods.
            var pdbs = objects.OfType<V1PodDisruptionBudget>().ToList();
            Assert.Equal(2, pdbs.Count);
            foreach (var (deployment, other) in new[] { (front, inference), (inference, front) })
            {
                var pdb = Assert.Single(pdbs, p => Selects(p.Spec.Selector.MatchLabels, deployment.Spec.Template.Metadata.Labels));
                Assert.False(Selects(pdb.Spec.Selector.MatchLabels, other.Spec.Template.Metadata.Labels), $"{name}: {pdb.Metadata.Name} selects both kinds of pod");
                Assert.True(pdb.Spec.MaxUnavailable is not null || pdb.Spec.MinAvailable is not null);
            }
        }
    }

    [Fact]
    public void The_prometheus_scrape_job_passes_promtool_and_finds_the_silo_pods_http_port()
    {
        var file = Path.Combine(ManifestTools.KubernetesFolder, "observability", "prometheus.yml");
        var job = (YamlMappingNode)((YamlSequenceNode)LoadYaml(file)["scrape_configs"]).Children
            .Single(j => Scalar(j, "job_name") == "chatcluster-silo");
        Assert.Equal("/metrics", Scalar(job, "metrics_path"));
        Assert.NotNull(Scalar(job["authorization"], "credentials_file")); // the API's keys protect /metrics

        var sd = (YamlMappingNode)((YamlSequenceNode)job["kubernetes_sd_configs"]).Children.Single();
        Assert.Equal("pod", Scalar(sd, "role"));
        var selector = Scalar(((YamlSequenceNode)sd["selectors"]).Children.Single(), "label")!.Split('=');
        var relabels = ((YamlSequenceNode)job["relabel_configs"]).Children.Cast<YamlMappingNode>().ToList();
        var portRule = relabels.Single(r => Strings(r["source_labels"]).Contains("__meta_kubernetes_pod_container_port_name"));
        Assert.Equal("keep", Scalar(portRule, "action"));

        // Both kinds of silo pod are scraped: the inference silos have no Service, only pod discovery finds them.
        foreach (var deployment in LoadStrict(manifests.Base).OfType<V1Deployment>())
        {
            var pod = deployment.Spec.Template;
            Assert.Contains(deployment.Metadata.NamespaceProperty, Strings(sd["namespaces"]["names"]));
            Assert.Equal(selector[1], pod.Metadata.Labels[selector[0]]);

            // The keep rule on the container port's name must leave exactly the HTTP port.
            var kept = pod.Spec.Containers.Single().Ports.Where(p => Regex.IsMatch(p.Name, $"^(?:{Scalar(portRule, "regex")})$")).ToList();
            Assert.Equal(8080, Assert.Single(kept).ContainerPort);
            // Pod labels reach Prometheus with every character outside [a-zA-Z0-9_] turned into "_".
            foreach (var source in relabels.SelectMany(r => Strings(r["source_labels"])))
            {
                if (source.StartsWith("__meta_kubernetes_pod_label_", StringComparison.Ordinal))
                {
                    Assert.Contains(pod.Metadata.Labels.Keys, k => "__meta_kubernetes_pod_label_" + NonLabelCharacter().Replace(k, "_") == source);
                }
            }

            output.WriteLine($"{deployment.Metadata.Name}: scraped on port 8080");
        }

        var promtool = ManifestTools.Require("promtool", "Debian's prometheus package brings it (apt-get install -y prometheus)");
        var text = File.ReadAllText(file);
        var (code, verdict) = CheckPrometheusConfig(promtool, "prometheus", text);
        output.WriteLine(verdict);
        if (code != 0 && verdict.Contains("field kubernetes_sd_configs not found", StringComparison.Ordinal))
        {
            // Debian builds Prometheus without Kubernetes discovery: check everything else with its promtool,
            // and the discovery block against the manifests above.
            var withoutDiscovery = KubernetesDiscovery().Replace(text, "    static_configs:\n      - targets: [\"127.0.0.1:8080\"]\n");
            Assert.NotEqual(text, withoutDiscovery);
            text = withoutDiscovery;
            (code, verdict) = CheckPrometheusConfig(promtool, "prometheus-static", text);
            output.WriteLine("without kubernetes_sd_configs, which Debian's promtool does not know: " + verdict);
        }

        Assert.True(code == 0, $"promtool rejects prometheus.yml: {verdict}");
        // promtool is strict: the same text with a misspelled field fails, so the pass above means something.
        Assert.NotEqual(0, CheckPrometheusConfig(promtool, "prometheus-broken", Mutate(text, "metrics_path:", "metric_path:")).Code);
    }

    [Fact]
    public void The_collector_pipelines_carry_traces_metrics_and_logs_through_defined_components()
    {
        // No collector runs here: check what it checks first at start, that every pipeline names defined components.
        var config = LoadYaml(Path.Combine(ManifestTools.KubernetesFolder, "observability", "otel-collector.yaml"));
        var pipelines = (YamlMappingNode)config["service"]["pipelines"];
        Assert.Equal(new[] { "logs", "metrics", "traces" }, pipelines.Children.Keys.Select(k => k.ToString()).Order());
        foreach (var (signal, pipeline) in pipelines.Children)
        {
            foreach (var section in new[] { "receivers", "processors", "exporters" })
            {
                var defined = ((YamlMappingNode)config[section]).Children.Keys.Select(k => k.ToString()).ToHashSet();
                var used = Strings(pipeline[section]);
                Assert.NotEmpty(used);
                Assert.All(used, u => Assert.True(defined.Contains(u), $"{signal} uses undefined {section} {u}"));
            }

            var processors = Strings(pipeline["processors"]);
            Assert.Equal("memory_limiter", processors[0]);
            Assert.Contains("batch", processors);
            Assert.Contains("otlp", Strings(pipeline["receivers"]));
        }

        var protocols = (YamlMappingNode)config["receivers"]["otlp"]["protocols"];
        Assert.Equal("0.0.0.0:4317", Scalar(protocols["grpc"], "endpoint"));
        Assert.Equal("0.0.0.0:4318", Scalar(protocols["http"], "endpoint"));
        Assert.Contains("prometheus", Strings(pipelines["metrics"]["exporters"]));
    }

    private (int Code, string Verdict) CheckPrometheusConfig(string promtool, string name, string text)
    {
        var (code, stdout, stderr) = ManifestTools.Run(promtool, ["check", "config", "--syntax-only", manifests.WriteTemp(name, text)], ManifestTools.KubernetesFolder);
        return (code, stdout + stderr);
    }

    /// <summary>The Kubernetes hosting options the silo configures for --kubernetes (built, not started).</summary>
    private static KubernetesHostingOptions SiloKubernetesHostingOptions()
    {
        var services = new ServiceCollection();
        services.AddOrleans(silo => ClusterConfiguration.Configure(silo, new SiloOptions { Kubernetes = true, Redis = "redis:6379" }, devices: ["cpu"]));
        using var provider = services.BuildServiceProvider();
        var options = new KubernetesHostingOptions();
        var configures = provider.GetServices<IConfigureOptions<KubernetesHostingOptions>>().ToList();
        Assert.NotEmpty(configures); // --kubernetes did turn the hosting on
        configures.ForEach(c => c.Configure(options));
        provider.GetServices<IPostConfigureOptions<KubernetesHostingOptions>>().ToList().ForEach(c => c.PostConfigure(Options.DefaultName, options));
        return options;
    }

    private static List<object> LoadStrict(string yaml) => KubernetesYaml.LoadAllFromString(yaml, null, strict: true);

    /// <summary>Null when KubernetesClient's strict load accepts the YAML, else why it does not.</summary>
    private static string? StrictLoadError(string yaml)
    {
        try
        {
            LoadStrict(yaml);
            return null;
        }
        catch (Exception e)
        {
            return e.GetType().Name + ": " + e.Message;
        }
    }

    private static V1Deployment Deployment(string yaml, string name) =>
        LoadStrict(yaml).OfType<V1Deployment>().Single(d => d.Metadata.Name == name);

    private static string Document(string yaml, string kind, string name) =>
        yaml.Split("\n---\n").Single(d => d.Contains($"\nkind: {kind}\n", StringComparison.Ordinal)
            && Regex.IsMatch(d, $@"^metadata:\n(?:  .*\n)*?  name: {Regex.Escape(name)}\n", RegexOptions.Multiline));

    private static string Mutate(string yaml, string from, string to)
    {
        Assert.True(yaml.Split(from).Length == 2, $"'{from.Trim()}' is not in the document exactly once");
        return yaml.Replace(from, to);
    }

    private static string ArgAfter(IList<string> args, string flag) => args[args.IndexOf(flag) + 1];

    private static bool Selects(IDictionary<string, string>? selector, IDictionary<string, string> labels) =>
        selector is { Count: > 0 } && selector.All(s => labels.TryGetValue(s.Key, out var v) && v == s.Value);

    private static YamlMappingNode LoadYaml(string path)
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(path);
        stream.Load(reader);
        return (YamlMappingNode)stream.Documents.Single().RootNode;
    }

    private static List<string> Strings(YamlNode sequence) =>
        ((YamlSequenceNode)sequence).Children.Select(n => ((YamlScalarNode)n).Value!).ToList();

    private static string? Scalar(YamlNode node, string key) =>
        ((YamlMappingNode)node).Children.TryGetValue(new YamlScalarNode(key), out var value) ? ((YamlScalarNode)value).Value : null;

    [GeneratedRegex("[^a-zA-Z0-9_]")]
    private static partial Regex NonLabelCharacter();

    [GeneratedRegex(@"^    kubernetes_sd_configs:\n(?:      .*\n|\s*\n)+", RegexOptions.Multiline)]
    private static partial Regex KubernetesDiscovery();
}

/// <summary>The base and the GPU overlay rendered once by kubectl's kustomize, and a folder for test copies.</summary>
public sealed class RenderedKubernetesManifests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("chatcluster-k8s-");

    public RenderedKubernetesManifests()
    {
        var kubectl = ManifestTools.Require("kubectl", "kubectl 1.32 or newer (with kustomize) is needed: see https://kubernetes.io/docs/tasks/tools/install-kubectl-linux/ (.ci/run should install it)");
        Base = Render(kubectl, "base");
        Gpu = Render(kubectl, Path.Combine("overlays", "gpu"));
    }

    public string Base { get; }

    public string Gpu { get; }

    public IEnumerable<(string Name, string Yaml)> All => [("base", Base), ("overlays/gpu", Gpu)];

    public string WriteTemp(string name, string text)
    {
        var path = Path.Combine(_temp.FullName, name.Replace('/', '-') + ".yaml");
        File.WriteAllText(path, text);
        return path;
    }

    public void Dispose() => _temp.Delete(recursive: true);

    private static string Render(string kubectl, string kustomization)
    {
        var (code, stdout, stderr) = ManifestTools.Run(kubectl, ["kustomize", kustomization], ManifestTools.KubernetesFolder);
        Assert.True(code == 0, $"kubectl kustomize {kustomization} failed: {stderr}");
        return stdout.ReplaceLineEndings("\n");
    }
}

/// <summary>Paths, external programs and the npm validator the manifest tests use.</summary>
internal static class ManifestTools
{
    private static readonly Lock RestoreLock = new();

    public static string KubernetesFolder => Path.Combine(Infrastructure.TestPaths.RepositoryRoot, "deploy", "kubernetes");

    private static string ValidatorsFolder => Path.Combine(Infrastructure.TestPaths.RepositoryRoot, "tests", "Deploy", "validators");

    public sealed record Report(int Objects, List<string> Failures);

    /// <summary>kubernetes-models' verdict on each file, in order (validators/validate.mjs).</summary>
    public static List<Report> KubernetesModels(params string[] files)
    {
        RestoreValidators();
        var node = Require("node", "Node.js runs the kubernetes-models validator (apt-get install -y nodejs npm)");
        var (_, stdout, stderr) = Run(node, ["validate.mjs", .. files], ValidatorsFolder);
        JsonDocument json;
        try
        {
            json = JsonDocument.Parse(stdout);
        }
        catch (JsonException)
        {
            throw new InvalidOperationException($"validate.mjs did not answer with its report: {stdout} {stderr}");
        }

        using (json)
        {
            return json.RootElement.GetProperty("files").EnumerateArray().Select(f => new Report(
                f.GetProperty("objects").GetInt32(),
                f.GetProperty("failures").EnumerateArray()
                    .Select(x => $"{x.GetProperty("object").GetString()}: {x.GetProperty("error").GetString()}").ToList())).ToList();
        }
    }

    /// <summary>The full path of a program on PATH, or a failed test that says how to get it.</summary>
    public static string Require(string program, string howToGet)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var path = Path.Combine(dir, program);
            if (File.Exists(path))
            {
                return path;
            }
        }

        Assert.Fail($"{program} is not on PATH. {howToGet}.");
        return null!;
    }

    /// <summary>Runs a program to its end, two minutes at most.</summary>
    public static (int Code, string Stdout, string Stderr) Run(string program, IEnumerable<string> arguments, string workingDirectory)
    {
        var start = new System.Diagnostics.ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{program} {string.Join(' ', start.ArgumentList)} did not finish within 2 minutes.");
        }

        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>npm ci into validators/node_modules once per lock file (a stamp there holds the lock file's hash).</summary>
    private static void RestoreValidators()
    {
        lock (RestoreLock)
        {
            var lockFile = Path.Combine(ValidatorsFolder, "package-lock.json");
            var stamp = Path.Combine(ValidatorsFolder, "node_modules", ".chatcluster-restored");
            var hash = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(lockFile)));
            if (File.Exists(stamp) && File.ReadAllText(stamp) == hash)
            {
                return;
            }

            var npm = Require("npm", "npm restores the kubernetes-models validator (apt-get install -y nodejs npm)");
            var (code, stdout, stderr) = Run(npm, ["ci", "--no-audit", "--no-fund", "--loglevel=error"], ValidatorsFolder);
            Assert.True(code == 0, $"npm ci in tests/Deploy/validators failed: {stdout} {stderr}");
            File.WriteAllText(stamp, hash);
        }
    }
}
