/** The median as the bench commands take it: the middle element, the upper one of an even count. */
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
