using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using RingAttention.Attention;

namespace RingAttention.Silo.Api;

/// <summary>
/// A request body that is one JSON object of a contract's fields: read with a size limit, every field left out at the
/// contract's default (the generated deserialiser would set an absent init-only property to 0, not to its default:
/// shards 0 instead of 1), a field the contract does not have refused by name so that a typo is not silently ignored.
/// Bad bodies throw <see cref="BodyException"/>, which <see cref="JobApi"/>'s guard answers with 400 or 413.
/// </summary>
public static class ApiBody
{
    public sealed class BodyException(int status, string message) : Exception(message)
    {
        public int Status { get; } = status;
    }

    public static async Task<T> ReadAsync<T>(HttpContext http, T defaults, JsonTypeInfo<T> contract, int maxBytes, string what)
    {
        if (http.Request.ContentLength > maxBytes)
        {
            throw new BodyException(StatusCodes.Status413PayloadTooLarge, $"{what} is at most {maxBytes} bytes");
        }

        JsonObject fields;
        try
        {
            using var limited = new LimitedStream(http.Request.Body, maxBytes);
            fields = await JsonNode.ParseAsync(limited, cancellationToken: http.RequestAborted) as JsonObject
                ?? throw new JsonException("the body is not a JSON object");
        }
        catch (JsonException e)
        {
            throw new BodyException(StatusCodes.Status400BadRequest, $"not {what} in JSON: {e.Message}");
        }
        catch (LimitedStream.TooLongException)
        {
            throw new BodyException(StatusCodes.Status413PayloadTooLarge, $"{what} is at most {maxBytes} bytes");
        }

        var merged = JsonSerializer.SerializeToNode(defaults, contract)!.AsObject();
        var names = contract.Properties.Select(p => p.Name).ToList();
        foreach (var (name, value) in fields.ToList())
        {
            string known = names.FirstOrDefault(n => string.Equals(n, name, StringComparison.OrdinalIgnoreCase))
                ?? throw new SpecValidationException(name, $"{what} has no field '{name}' (fields: {string.Join(", ", names)})");
            merged[known] = value?.DeepClone();
        }

        try
        {
            return merged.Deserialize(contract) ?? throw new BodyException(StatusCodes.Status400BadRequest, $"the body must be {what} (a JSON object)");
        }
        catch (JsonException e)
        {
            throw new BodyException(StatusCodes.Status400BadRequest, $"not {what} in JSON: {e.Message}");
        }
    }
}
