public enum SandyqSyncModule {}
