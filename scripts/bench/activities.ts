export const benchActivities = {
  async noop(): Promise<void> {},
};
