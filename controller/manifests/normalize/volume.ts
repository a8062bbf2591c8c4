import { parseSize } from "../../../lib/units.js";
import type { VolumeSpecInput } from "../../../schemas/index.js";
import type { VolumeSpec } from "../model.js";
import type { Problems } from "../problems.js";

/** The spec of a Volume object: the local driver's options, sizes in bytes and modes as numbers. */
export function normalizeVolume(s: VolumeSpecInput, _p: Problems): VolumeSpec {
  const o = s.options ?? {};
  const options: VolumeSpec["options"] = {};
  if (o.type) options.type = o.type;
  if (o.device) options.device = o.device;
  if (o.o) options.o = o.o;
  if (o.size !== undefined) options.sizeBytes = parseSize(o.size);
  if (o.mode) options.mode = parseInt(o.mode, 8);
  if (o.uid !== undefined) options.uid = o.uid;
  if (o.gid !== undefined) options.gid = o.gid;
  return { driver: "local", options };
}
