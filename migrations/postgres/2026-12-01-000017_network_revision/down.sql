DROP TRIGGER locations_revise_routing ON locations;
DROP TRIGGER locations_revise ON locations;
DROP TRIGGER lateral_lanes_revise ON lateral_lanes;
DROP TRIGGER tiers_revise ON tiers;
DROP FUNCTION network_revised();
DROP TABLE network_revision;
DROP SEQUENCE network_revision_seq;
