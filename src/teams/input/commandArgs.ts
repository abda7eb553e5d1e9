/** `remove <member> [from <group>]` (and `make admin <member> [in <group>]`): split at the last "from"/"in". */
export function splitMemberAndGroup(args: string, separator: 'from' | 'in' = 'from'): { member: string; group?: string } {
  const match = new RegExp(`^(.*\\S)\\s+${separator}\\s+(\\S.*)$`, 'i').exec(args.trim());
  if (match === null) return { member: args.trim() };
  return { member: match[1]!.trim(), group: match[2]!.trim() };
}
