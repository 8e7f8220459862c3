using RingAttention.Bench.Gpu;

// Kernel benchmark and device checks for the CUDA backend; see bench/NOTES.md.
//   verify --dir DIR            run DIR/cases.txt (name dtype mask window per line) on DIR/NAME.in.safetensors,
//                               write DIR/NAME.out.safetensors (o f32 [T,Hq,D], lse f32 [Hq,T]) for torch_attention.py check
//   bench [--tokens 4096,16384] [--heads 32/32,32/8] [--dims 128,64] [--dtypes bf16,f16] [--causal 0,1] [--reps 10] [--slabs 2]
//                               device-resident timing (q/k/v already on the GPU: no host transfers in the timed region)
if (args.Length == 0 || args[0] is not ("verify" or "bench"))
{
    Console.Error.WriteLine("usage: RingAttention.Bench.Gpu verify --dir DIR | bench [options] (see Program.cs)");
    return 2;
}

var options = Options.Parse(args.AsSpan(1));
return args[0] == "verify" ? DeviceVerify.Run(options) : KernelBench.Run(options);
