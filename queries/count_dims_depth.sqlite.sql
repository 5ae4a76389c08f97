SELECT model.name AS model, (neuron.layer * ?) / model.n_layers AS bucket, count(*) AS n_matching 
FROM neuron JOIN model ON model.id = neuron.model_id JOIN score_vector AS s0 ON s0.set_id IN (__[POSTCOMPILE_set_id_1]) AND s0.layer_id = neuron.layer_id AND s0.block = neuron.unit / ? 
WHERE neuron.model_id IN (__[POSTCOMPILE_model_id_1]) AND neuron.site = ? AND atlas_value(s0.vals, neuron.unit % ?) IS NOT NULL GROUP BY model.name, (neuron.layer * ?) / model.n_layers ORDER BY model.name, (neuron.layer * ?) / model.n_layers
-- parameters: {'layer_1': 4, 'set_id_1': [43, 241], 'unit_1': 256, 'model_id_1': [1, 3], 'site_1': 'resid', 'unit_2': 256}
-- and the neurons per group:
SELECT model.name AS model, (lay.layer * ?) / model.n_layers AS bucket, CAST(sum(lay.width) AS INTEGER) AS n_neurons 
FROM (SELECT layer.model_id AS model_id, layer."index" AS layer, layer.site AS site, layer.width AS width 
FROM layer) AS lay JOIN model ON model.id = lay.model_id 
WHERE lay.model_id IN (__[POSTCOMPILE_model_id_1]) AND lay.site = ? GROUP BY model.name, (lay.layer * ?) / model.n_layers ORDER BY model.name, (lay.layer * ?) / model.n_layers
-- parameters: {'layer_1': 4, 'model_id_1': [1, 3], 'site_1': 'resid'}
-- score sets read:
-- probe(upos:NOUN) of bert: run 2, method row 5 {}
-- probe(upos:NOUN) of minilm: run 5, method row 5 {}
