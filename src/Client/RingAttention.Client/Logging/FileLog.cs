using Microsoft.Extensions.Logging;

namespace RingAttention.Client.Logging;

/// <summary>
/// One log file shared by every host of a process (an embedded cluster's silos and its client): framework logs go
/// here instead of the console, so the console shows only the product's output. The file outlives the hosts that
/// write to it: a host disposes its providers when it stops, so each gets a provider that does not own the file.
/// </summary>
public sealed class FileLog : IDisposable
{
    private readonly StreamWriter _writer;
    private readonly Lock _gate = new();
    private bool _disposed;

    public FileLog(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        // Appended and flushed per line: the lines before a crash are the ones worth reading.
        _writer = new StreamWriter(new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
    }

    public string Path { get; }

    /// <summary>
    /// A file under the user's state directory (<c>$XDG_STATE_HOME/ringattn/logs</c>, else <c>~/.local/state/...</c>,
    /// else the temp directory), named by time and process; older files beyond the newest <paramref name="keep"/> are removed.
    /// </summary>
    public static FileLog CreateDefault(int keep = 20)
    {
        string directory = DefaultDirectory();
        try
        {
            foreach (var old in new DirectoryInfo(directory).EnumerateFiles("ringattn-*.log").OrderByDescending(f => f.LastWriteTimeUtc).Skip(keep - 1))
            {
                old.Delete();
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Housekeeping only: a file that cannot be removed now is removed by a later run.
        }

        return new FileLog(System.IO.Path.Combine(directory, $"ringattn-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Environment.ProcessId}.log"));
    }

    private static string DefaultDirectory()
    {
        string directory = StateDirectory.Of("logs");
        try
        {
            Directory.CreateDirectory(directory);
            return directory;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ringattn-logs");
        }
    }

    /// <summary>
    /// Routes a host's logs to this file (from <paramref name="minimum"/> up) and nowhere else; with
    /// <paramref name="alsoToStandardError"/> (--verbose) they are also shown on stderr, never on stdout.
    /// </summary>
    public Action<ILoggingBuilder> Configure(LogLevel minimum, bool alsoToStandardError = false) => builder =>
    {
        builder.ClearProviders();
        builder.SetMinimumLevel(minimum);
        builder.AddProvider(new Provider(this));
        if (alsoToStandardError)
        {
            builder.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
            builder.AddSimpleConsole(o => o.SingleLine = true);
        }
    };

    private void Write(LogLevel level, string category, EventId id, string message, Exception? exception)
    {
        lock (_gate)
        {
            if (_disposed)
            {
                // A host that logs while it stops, after the owner closed the file: the line has nowhere to go.
                return;
            }

            _writer.WriteLine($"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ} {Short(level)} {category}[{id.Id}] {message}");
            if (exception is not null)
            {
                _writer.WriteLine(exception);
            }
        }
    }

    private static string Short(LogLevel level) => level switch
    {
        LogLevel.Trace => "trce",
        LogLevel.Debug => "dbug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "fail",
        _ => "crit",
    };

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _writer.Dispose();
        }
    }

    private sealed class Provider(FileLog log) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(log, categoryName);

        /// <summary>The file belongs to the <see cref="FileLog"/>, not to the host that stops.</summary>
        public void Dispose()
        {
        }
    }

    private sealed class Logger(FileLog log, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                log.Write(logLevel, category, eventId, formatter(state, exception), exception);
            }
        }
    }
}
