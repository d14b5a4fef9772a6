CREATE DATABASE warehouse OWNER csvhub;
