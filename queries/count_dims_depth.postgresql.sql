SELECT model.name AS model, (neuron.layer * %(layer_1)s::INTEGER) / model.n_layers AS bucket, count(*) AS n_matching 
FROM neuron JOIN model ON model.id = neuron.model_id JOIN score_vector AS s0 ON s0.set_id IN (__[POSTCOMPILE_set_id_1]) AND s0.layer_id = neuron.layer_id AND s0.block = neuron.unit / %(unit_1)s::INTEGER 
WHERE neuron.model_id IN (__[POSTCOMPILE_model_id_1]) AND neuron.site = %(site_1)s::VARCHAR AND CAST(nullif(s0.vals[(neuron.unit %% %(unit_2)s::INTEGER + %(param_1)s::INTEGER)], CAST(%(param_2)s::VARCHAR AS REAL)) AS FLOAT) IS NOT NULL GROUP BY model.name, (neuron.layer * %(layer_1)s::INTEGER) / model.n_layers ORDER BY model.name COLLATE "C", (neuron.layer * %(layer_1)s::INTEGER) / model.n_layers
-- parameters: {'layer_1': 4, 'set_id_1': [43, 241], 'unit_1': 256, 'model_id_1': [1, 3], 'site_1': 'resid', 'unit_2': 256, 'param_1': 1, 'param_2': 'NaN'}
-- and the neurons per group:
SELECT model.name AS model, (lay.layer * %(layer_1)s::INTEGER) / model.n_layers AS bucket, CAST(sum(lay.width) AS INTEGER) AS n_neurons 
FROM (SELECT layer.model_id AS model_id, layer.index AS layer, layer.site AS site, layer.width AS width 
FROM layer) AS lay JOIN model ON model.id = lay.model_id 
WHERE lay.model_id IN (__[POSTCOMPILE_model_id_1]) AND lay.site = %(site_1)s::VARCHAR GROUP BY model.name, (lay.layer * %(layer_1)s::INTEGER) / model.n_layers ORDER BY model.name COLLATE "C", (lay.layer * %(layer_1)s::INTEGER) / model.n_layers
-- parameters: {'layer_1': 4, 'model_id_1': [1, 3], 'site_1': 'resid'}
-- score sets read:
-- probe(upos:NOUN) of bert: run 2, method row 5 {}
-- probe(upos:NOUN) of minilm: run 5, method row 5 {}
