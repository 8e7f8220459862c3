namespace RingAttention.Client;

/// <summary>No gateway of the named cluster answered within the connect timeout.</summary>
public sealed class ClusterUnreachableException(string message, Exception? inner = null) : Exception(message, inner);
