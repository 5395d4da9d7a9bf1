// Where an email is analysed: on the Pitchlint service (the default), or on this device by the
// model shipped inside the extension. With the fallback allowed, an email is analysed on the
// device while the service cannot be reached, and the answer says so.

export const ANALYZE_ON_SERVICE = "service";
export const ANALYZE_ON_DEVICE = "device";

/** Failures after which the fallback (when allowed) analyses on the device instead. */
const UNREACHABLE = new Set(["unreachable", "timeout", "server", "not_ready"]);

export function shouldFallBack(answer, allowed) {
  return !!allowed && !!answer && !answer.ok && !!answer.error && UNREACHABLE.has(answer.error.kind);
}

/** What the answer carries when the fallback made it (shown on the chip). */
export function fallbackNote(error) {
  return {
    reason: (error && error.kind) || "unreachable",
    message: `The Pitchlint service cannot be reached, so this email was analysed on this device; nothing was sent. (${(error && error.message) || "no answer"})`,
  };
}

/** The words the chip adds to its summary for an answer made on the device. */
export function whereLabel(data) {
  if (data && data.fallback) return { suffix: " · on this device", title: data.fallback.message };
  return { suffix: "", title: "" };
}
