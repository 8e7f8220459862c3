using ILGPU;
using ILGPU.Runtime;
using RingAttention.Tensors;

namespace RingAttention.Kernels.Gpu;

/// <summary>FP8 K/V blocks to bfloat16 on the device (<see cref="IAttentionBackend.DequantiseFp8"/>).</summary>
public abstract partial class IlgpuAttentionBackend
{
    /// <summary>Threads of one dequantise launch at most; each walks the block with this stride.</summary>
    private const int DequantiseThreads = 1 << 20;

    private Action<Index1D, ArrayView<byte>, ArrayView<ushort>, ArrayView<float>, int, int, long>? _dequantise;

    public void DequantiseFp8(DeviceKeyValues codes, DeviceKeyValues target, Fp8KeyValueScales scales)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        OperandCheck.Dequantise(codes, target, scales);
        long elements = codes.DataBytes;
        if (elements == 0)
        {
            return;
        }

        float[] factors = [.. scales.Keys, .. scales.Values];
        var buffer = Pool.Rent(4L * factors.Length, $"FP8 descale factors ({factors.Length})");
        try
        {
            var factorView = buffer.View.AsContiguous().SubView(0, 4L * factors.Length).Cast<float>();
            factorView.CopyFromCPU(Accelerator.DefaultStream, factors);
            _dequantise ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<byte>, ArrayView<ushort>, ArrayView<float>, int, int, long>(Dequantise);
            _dequantise((int)Math.Min(elements, DequantiseThreads), DataView(codes), DataView(target).Cast<ushort>(), factorView, codes.HeadDim, codes.Heads, codes.KeyBytes);
            Accelerator.DefaultStream.Synchronize();
        }
        finally
        {
            Pool.Return(buffer);
        }
    }

    /// <summary>
    /// Element e of K then V: its e4m3 code decoded exactly, times its kv head's factor (keys: factors[h], values:
    /// factors[heads + h]) in float32, rounded to bfloat16 as <see cref="ElementConvert.SingleToBFloat16"/> rounds.
    /// </summary>
    private static void Dequantise(Index1D index, ArrayView<byte> codes, ArrayView<ushort> target, ArrayView<float> factors, int headDim, int heads, long keyElements)
    {
        long total = codes.Length;
        for (long e = index; e < total; e += DequantiseThreads)
        {
            bool values = e >= keyElements;
            long j = values ? e - keyElements : e;
            int head = (int)(j / headDim % heads);
            float value = Fp8ToSingle(codes[e]) * factors[(values ? heads : 0) + head];
            uint bits = Interop.FloatAsInt(value);
            target[e] = (bits & 0x7FFF_FFFFu) > 0x7F80_0000u
                ? (ushort)((bits >> 16) | 0x0040u)
                : (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
        }
    }

    /// <summary>OCP e4m3 ("fn"): bias 7, subnormals m · 2^-9, S.1111.111 NaN, no infinities.</summary>
    private static float Fp8ToSingle(byte code)
    {
        uint sign = (uint)(code & 0x80) << 24;
        uint exponent = (uint)(code >> 3) & 0xFu;
        uint mantissa = code & 7u;
        if (exponent == 0)
        {
            float subnormal = mantissa * (1f / 512f);
            return sign != 0 ? -subnormal : subnormal;
        }

        return exponent == 15 && mantissa == 7
            ? float.NaN
            : Interop.IntAsFloat(sign | ((exponent + 120) << 23) | (mantissa << 20));
    }
}
